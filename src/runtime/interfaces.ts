// What the broker asks of a runtime: TCP and TLS sockets, an HTTP listener, SQLite. The Bun
// adapters (src/runtime/*.ts) and the Deno ones (src/runtime/deno/*.ts) implement these, so
// the rest of the source never names a runtime.

export interface TcpSocket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  /** Writes what the kernel takes now; returns bytes written (-1 when the socket is closed). */
  write(bytes: Uint8Array): number;
  /** Half-closes after what was written so far. */
  end(): void;
  /** Closes at once, discarding unsent data. */
  terminate(): void;
  /** Stop / restart reading (flow control). A WebSocket cannot stop reading: see `readsPause`. */
  pause(): void;
  resume(): void;
  /** false when `pause` cannot stop the peer's bytes (a WebSocket); absent: it can. */
  readonly readsPause?: boolean;
  /**
   * A socket that takes every write whole and buffers what it cannot send yet (a WebSocket):
   * true while it holds unsent bytes. The writer waits for `onDrain` before writing more.
   */
  congested?(): boolean;
  /** How the bytes travel, when not plain TCP or TLS: a WebSocket, or in process (client/direct.ts). */
  readonly transport?: "websocket" | "direct";
  /** Only on TLS connections (amqps, WebSockets over HTTPS): the client certificate, when one was presented and verified. */
  readonly tls?: { peerCommonName(): string | undefined };
}

export interface TcpHandler {
  onData(chunk: Uint8Array): void;
  /** The socket can take more bytes after a short write (or while congested). */
  onDrain(): void;
  onClose(error?: Error): void;
}

export interface TcpListener {
  readonly port: number;
  stop(): void;
}

/** TLS settings for a listener (runtime/tls.ts builds them from files). */
export interface ListenTls {
  cert: string;
  key: string;
  ca?: string;
  requestCert: boolean;
  /** Refuse clients without a valid certificate during the TLS handshake. */
  rejectUnauthorized: boolean;
}

/** TLS settings of an outbound connection (runtime/tcp_connect.ts; PEM text, not file names). */
export interface ConnectTls {
  ca?: string;
  cert?: string;
  key?: string;
  /** Check the server's certificate chain (and its name) against `ca` or the system roots. */
  rejectUnauthorized: boolean;
  /** SNI and the name the certificate is checked against (default: the host). */
  serverName?: string;
}

export interface HttpListener {
  readonly port: number;
  stop(): void;
}

/** What the server knows about a request beyond the Request itself (hono's `c.env`). */
export interface HttpPeer {
  /** The client's IP address. */
  remoteAddress: string | undefined;
}

export type FetchHandler = (request: Request, peer: HttpPeer) => Response | Promise<Response>;

/** PEM files for an HTTPS listener: the certificate (chain), its key, and optional CAs. */
export interface HttpsFiles {
  cert: string;
  key: string;
  ca: string | undefined;
}

export type SqlValue = string | number | bigint | boolean | null | Uint8Array;

export interface SqlStatement {
  run(...params: SqlValue[]): void;
  all<T = Record<string, SqlValue>>(...params: SqlValue[]): T[];
  get<T = Record<string, SqlValue>>(...params: SqlValue[]): T | undefined;
  /** Rows one at a time, for result sets too large to hold at once. */
  iterate<T = Record<string, SqlValue>>(...params: SqlValue[]): IterableIterator<T>;
}

export interface SqlDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  /** Runs `fn` in one transaction (BEGIN IMMEDIATE … COMMIT, ROLLBACK on throw). */
  transaction(fn: () => void): void;
  close(): void;
}

/**
 * WebSocket endpoints by path (MQTT over WebSocket on /ws): each accepted WebSocket is handed
 * over as a TcpSocket carrying binary messages, with the subprotocol named. Consulted per
 * request, so endpoints can come and go while the server runs.
 */
export type WebSocketPaths = ReadonlyMap<string, WebSocketEndpoint>;

export interface WebSocketEndpoint {
  /** The subprotocol echoed when the client offers it ("mqtt"). */
  readonly protocol: string;
  readonly accept: (socket: TcpSocket) => TcpHandler;
}
