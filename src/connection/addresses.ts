// Peer addresses as connections name and check them, and bytes shown in error texts.

/** Loopback, in either IP family (IPv4 seen through an IPv6 socket too). */
export function isLoopbackAddress(address: string): boolean {
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

/** An IPv4 peer seen through an IPv6 socket, written as IPv4. */
export function formatAddress(address: string): string {
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

/** Bytes as a quoted string (a bad protocol header in a log line). */
export function printable(bytes: Uint8Array): string {
  return JSON.stringify(String.fromCharCode(...bytes));
}
