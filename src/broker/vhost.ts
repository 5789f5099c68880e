// A virtual host: the namespace exchanges, queues and bindings live in (issue 3 fills it).

export class Vhost {
  constructor(readonly name: string) {}
}
