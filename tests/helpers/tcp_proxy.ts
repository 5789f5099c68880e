// A TCP proxy for link-cut tests: forwards 127.0.0.1:<port> to a target, and on demand drops
// every live connection (both sides reset at once, as a cut cable looks after a timeout) and
// refuses new ones for a while (accepted and closed at once, before a byte is forwarded).
//
//   const proxy = await startTcpProxy("127.0.0.1", brokerPort);
//   connect to amqp://guest:guest@127.0.0.1:${proxy.port}
//   proxy.cut(2000);       // drop live connections, refuse new ones for 2 s
//   proxy.refuse(); proxy.accept();   // refuse until told otherwise
//   proxy.hold(); proxy.release();    // stop / restart forwarding (a stalled link, sockets open);
//   proxy.hold("to-client")           // only the target's bytes wait (a half-dead link)
//   await proxy.stop();
import type { Socket, TCPSocketListener } from "bun";

interface Side {
  peer: Socket<Side> | undefined;
  /** Bytes waiting for the peer to open or to drain. */
  pending: Uint8Array[];
  client: boolean;
}

export interface TcpProxy {
  readonly port: number;
  /** Connections accepted and forwarded so far. */
  readonly accepted: number;
  /** Connections refused so far. */
  readonly refused: number;
  /** Live forwarded connections. */
  readonly live: number;
  /** Drops every live connection; with `refuseMs`, refuses new ones for that long. */
  cut(refuseMs?: number): void;
  /** Refuses new connections (closes them at once) until accept(). */
  refuse(): void;
  accept(): void;
  /** Stops forwarding (sockets stay open, bytes wait), both ways or one; release() resumes. */
  hold(direction?: "both" | "to-client" | "to-target"): void;
  release(): void;
  stop(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<Socket<Side>>();
  let refusing = false;
  let refuseTimer: ReturnType<typeof setTimeout> | undefined;
  let held: "none" | "both" | "to-client" | "to-target" = "none";
  /** Bytes read from `from` wait (not forwarded) in the held direction. */
  const isHeld = (from: Socket<Side>) =>
    held === "both" || (held === "to-client" && !from.data.client) || (held === "to-target" && from.data.client);
  let accepted = 0;
  let refused = 0;

  const forward = (from: Socket<Side>, chunk: Uint8Array) => {
    const peer = from.data.peer;
    if (isHeld(from) || !peer || from.data.pending.length > 0) {
      from.data.pending.push(chunk.slice());
      return;
    }
    const n = peer.write(chunk);
    if (n < chunk.length) from.data.pending.push(chunk.slice(Math.max(n, 0)));
  };
  const flushPending = (from: Socket<Side>) => {
    const peer = from.data.peer;
    if (isHeld(from) || !peer) return;
    while (from.data.pending.length > 0) {
      const chunk = from.data.pending[0]!;
      const n = peer.write(chunk);
      if (n < chunk.length) {
        from.data.pending[0] = chunk.slice(Math.max(n, 0));
        return;
      }
      from.data.pending.shift();
    }
  };
  const closePair = (s: Socket<Side>) => {
    pairs.delete(s);
    const peer = s.data.peer;
    s.data.peer = undefined;
    if (peer) {
      peer.data.peer = undefined;
      pairs.delete(peer);
      peer.terminate();
    }
  };

  const server: TCPSocketListener<Side> = Bun.listen<Side>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        client.data = { peer: undefined, pending: [], client: true };
        if (refusing) {
          refused++;
          client.terminate();
          return;
        }
        accepted++;
        pairs.add(client);
        Bun.connect<Side>({
          hostname: targetHost,
          port: targetPort,
          data: { peer: undefined, pending: [], client: false },
          socket: {
            open(upstream) {
              upstream.data = { peer: client, pending: [], client: false };
              if (!pairs.has(client)) {
                upstream.terminate();
                return;
              }
              client.data.peer = upstream;
              pairs.add(upstream);
              flushPending(client);
            },
            data: (upstream, chunk) => forward(upstream, chunk),
            drain: (upstream) => {
              if (upstream.data.peer) flushPending(upstream.data.peer);
            },
            close: (upstream) => closePair(upstream),
            error: (upstream) => closePair(upstream),
            connectError: () => {
              pairs.delete(client);
              client.terminate();
            },
          },
        }).catch(() => {
          pairs.delete(client);
          client.terminate();
        });
      },
      data: (client, chunk) => forward(client, chunk),
      drain: (client) => {
        if (client.data.peer) flushPending(client.data.peer);
      },
      close: (client) => closePair(client),
      error: (client) => closePair(client),
    },
  });

  const dropAll = () => {
    for (const s of [...pairs]) {
      pairs.delete(s);
      s.data.peer = undefined;
      s.terminate();
    }
  };

  return {
    port: server.port,
    get accepted() {
      return accepted;
    },
    get refused() {
      return refused;
    },
    get live() {
      return [...pairs].filter((s) => s.data.client).length;
    },
    cut(refuseMs = 0) {
      if (refuseMs > 0) {
        refusing = true;
        clearTimeout(refuseTimer);
        refuseTimer = setTimeout(() => (refusing = false), refuseMs);
      }
      dropAll();
    },
    refuse() {
      clearTimeout(refuseTimer);
      refusing = true;
    },
    accept() {
      clearTimeout(refuseTimer);
      refusing = false;
    },
    hold(direction = "both") {
      held = direction;
    },
    release() {
      held = "none";
      for (const s of [...pairs]) flushPending(s);
    },
    async stop() {
      clearTimeout(refuseTimer);
      dropAll();
      server.stop(true);
    },
  };
}
