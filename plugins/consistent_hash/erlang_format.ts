// io_lib:format("~p", [Binary]) as RabbitMQ's error texts print a binding key: <<"abc">> when
// every byte is printable Latin-1 (escaped as Erlang does), else <<97,0,98>>, wrapped at 80
// columns under the opening << like io_lib_pretty does.

const ESCAPES: Record<number, string> = {
  34: '\\"',
  92: "\\\\",
  10: "\\n",
  13: "\\r",
  9: "\\t",
  11: "\\v",
  8: "\\b",
  12: "\\f",
  27: "\\e",
};

function printable(byte: number): boolean {
  return (byte >= 32 && byte <= 126) || byte >= 160 || ESCAPES[byte] !== undefined;
}

const LINE = 80;

/**
 * `bytes` as ~p prints a binary starting at `column` (the length of the text before it).
 * Returns raw bytes (printable bytes stay as they are, as RabbitMQ sends them).
 */
export function formatBinary(bytes: Uint8Array, column: number): Uint8Array {
  const out: number[] = [60, 60]; // <<
  if (bytes.length > 0 && bytes.every(printable)) {
    out.push(34);
    for (const byte of bytes) {
      const escape = ESCAPES[byte];
      if (escape === undefined) out.push(byte);
      else for (let i = 0; i < escape.length; i++) out.push(escape.charCodeAt(i));
    }
    out.push(34);
  } else {
    const items = Array.from(bytes, String);
    const oneLine = column + 4 + items.join(",").length;
    const indent = column + 2;
    let col = indent;
    items.forEach((item, i) => {
      const last = i === items.length - 1;
      const width = item.length + (last ? 2 : 1);
      if (oneLine > LINE && col > indent && col + width > (last ? LINE + 1 : LINE - 1)) {
        out.push(10);
        for (let s = 0; s < indent; s++) out.push(32);
        col = indent;
      }
      for (let c = 0; c < item.length; c++) out.push(item.charCodeAt(c));
      if (!last) out.push(44);
      col += width;
    });
  }
  out.push(62, 62); // >>
  return Uint8Array.from(out);
}
