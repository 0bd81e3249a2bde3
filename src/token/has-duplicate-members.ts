// RFC 7515 §5.2 and RFC 7519 §7.2 let a JOSE parser either reject duplicate member names or keep the
// lexically last one (what JSON.parse does). Another component reading the same token with a first-wins
// parser would then see other claims than authzd did (`{"sub":"alice","sub":"admin"}`), so authzd rejects
// such tokens instead of picking one.

/**
 * True when some object in `json` names a member twice, at any depth. `json` must already have been
 * accepted by JSON.parse: the scan relies on it being well-formed and only tracks strings, braces and
 * commas. Names are compared after unescaping, as JSON.parse would (`"sub"` and `"\u0073ub"` collide).
 */
export function hasDuplicateMembers(json: string): boolean {
  // One entry per open container: the member names seen so far for an object, null for an array.
  const open: (Set<string> | null)[] = [];
  let expectName = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x22) {
      let end = i + 1;
      let escaped = false;
      for (;;) {
        // Unreachable for text JSON.parse accepted; keeps a misuse from looping forever.
        if (end >= json.length) return false;
        const d = json.charCodeAt(end);
        if (d === 0x5c) {
          escaped = true;
          end += 2;
        } else if (d === 0x22) break;
        else end++;
      }
      if (expectName) {
        const names = open[open.length - 1]!;
        const name = escaped ? (JSON.parse(json.slice(i, end + 1)) as string) : json.slice(i + 1, end);
        if (names.has(name)) return true;
        names.add(name);
        expectName = false;
      }
      i = end;
    } else if (c === 0x7b) {
      open.push(new Set());
      expectName = true;
    } else if (c === 0x5b) {
      open.push(null);
      expectName = false;
    } else if (c === 0x7d || c === 0x5d) {
      open.pop();
    } else if (c === 0x2c) {
      expectName = open[open.length - 1] != null;
    }
  }
  return false;
}
