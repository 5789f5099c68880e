// The topic exchange, as RabbitMQ's rabbit_exchange_type_topic: binding keys are split on "."
// into words and stored in a trie whose nodes have three kinds of branch, a literal word, "*"
// (exactly one word) and "#" (zero or more words). A routing key walks the trie; it never scans
// the bindings.
//
// Words are what lies between dots, so "a..b" has three words and "a." two, but the empty key
// has none (RabbitMQ's split_topic_key(<<>>) is []): "" matches the binding "" and bindings made
// only of "#", never "*".
import type { FieldTable } from "../amqp/table.ts";
import { type Binding, BindingList, IndexedRouter } from "./indexed_router.ts";
import type { RoutableMessage } from "./router.ts";

class TopicNode<D> {
  literal: Map<string, TopicNode<D>> | undefined = undefined;
  star: TopicNode<D> | undefined = undefined;
  hash: TopicNode<D> | undefined = undefined;
  readonly bindings = new BindingList<TopicBinding<D>>();
  /** For a "#" node: the route call that last expanded it. */
  epoch = 0;

  constructor(readonly parent: TopicNode<D> | undefined, readonly word: string) {}

  get empty(): boolean {
    return this.bindings.length === 0 && this.literal === undefined && this.star === undefined &&
      this.hash === undefined;
  }
}

interface TopicBinding<D> extends Binding<D> {
  readonly node: TopicNode<D>;
}

export class TopicRouter<D> extends IndexedRouter<D, TopicBinding<D>> {
  private readonly root = new TopicNode<D>(undefined, "");
  private nodes = 0;
  private epoch = 0;
  /** The words of the last routing key, reused from call to call (a publisher repeats keys). */
  private lastKey: string | undefined = undefined;
  private readonly words: string[] = [];
  private wordCount = 0;

  /** Trie nodes below the root (empty ones are removed on unbind). */
  get nodeCount(): number {
    return this.nodes;
  }

  route(routingKey: string, _message: RoutableMessage, out: Set<D>): void {
    if (this.size === 0) return;
    if (routingKey !== this.lastKey) this.split(routingKey);
    this.epoch++;
    this.match(this.root, 0, out);
  }

  private split(key: string): void {
    this.lastKey = key;
    const words = this.words;
    let n = 0;
    if (key !== "") {
      let start = 0;
      for (let dot = key.indexOf("."); dot !== -1; dot = key.indexOf(".", start)) {
        words[n++] = key.slice(start, dot);
        start = dot + 1;
      }
      words[n++] = key.slice(start);
    }
    this.wordCount = n;
  }

  /** Adds what `node` matches for the words from position `i` on (RabbitMQ's trie_match). */
  private match(node: TopicNode<D>, i: number, out: Set<D>): void {
    if (i === this.wordCount) {
      const items = node.bindings.items;
      for (let b = 0; b < items.length; b++) out.add(items[b]!.destination);
    } else {
      const next = node.literal?.get(this.words[i]!);
      if (next) this.match(next, i + 1, out);
      if (node.star) this.match(node.star, i + 1, out);
    }
    if (node.hash) this.skipAny(node.hash, i, out);
  }

  /**
   * A "#" node matches from every position `i`..end (RabbitMQ's trie_match_skip_any). The trie
   * is a tree and each "#" node is expanded at most once per route call, in order, so the
   * positions a "#" node is reached at never decrease: its first expansion covers every later
   * one. Each "#" node thus makes one pass over the words, so "#.#.#" or "#.a.#.a.#" on a long
   * key costs (trie nodes × words) at worst instead of growing exponentially with the "#"s.
   */
  private skipAny(node: TopicNode<D>, i: number, out: Set<D>): void {
    if (node.epoch === this.epoch) return;
    node.epoch = this.epoch;
    for (let j = i; j <= this.wordCount; j++) this.match(node, j, out);
  }

  protected attach(routingKey: string, args: FieldTable, destination: D): TopicBinding<D> {
    let node = this.root;
    if (routingKey !== "") {
      for (const word of routingKey.split(".")) node = this.child(node, word);
    }
    const binding: TopicBinding<D> = { routingKey, args, destination, node, slot: -1 };
    node.bindings.add(binding);
    return binding;
  }

  protected detach(binding: TopicBinding<D>): void {
    let node = binding.node;
    node.bindings.remove(binding);
    while (node.parent && node.empty) {
      const parent = node.parent;
      if (node.word === "*") parent.star = undefined;
      else if (node.word === "#") parent.hash = undefined;
      else {
        parent.literal!.delete(node.word);
        if (parent.literal!.size === 0) parent.literal = undefined;
      }
      this.nodes--;
      node = parent;
    }
  }

  private child(node: TopicNode<D>, word: string): TopicNode<D> {
    let next: TopicNode<D> | undefined;
    if (word === "*") next = node.star ??= this.newNode(node, word);
    else if (word === "#") next = node.hash ??= this.newNode(node, word);
    else {
      const literal = (node.literal ??= new Map());
      next = literal.get(word);
      if (!next) literal.set(word, next = this.newNode(node, word));
    }
    return next;
  }

  private newNode(parent: TopicNode<D>, word: string): TopicNode<D> {
    this.nodes++;
    return new TopicNode(parent, word);
  }
}
