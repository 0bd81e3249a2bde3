/**
 * A JSON document as authzd reads every one from a file or the network (entities.json, key sets, bundle
 * manifests, its own state files): a leading UTF-8 byte order mark, which some editors write, is ignored
 * (RFC 8259 §8.1 lets a parser do so), and everything else is JSON.parse's. One reader, so a file accepted
 * in one place is not refused in another. Tokens are not documents: their parts must be exact (RFC 7515).
 */
export function parseJson(text: string): unknown {
  return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
}
