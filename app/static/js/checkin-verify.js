// Verifies the club's signed QR tokens on the phone, without the server (app/core/tokens.py):
// "CC1." + base64url(22-byte header + 64-byte Ed25519 signature of the header); the header is
// key id (1 byte), kind (1), subject id (8), version (2), issued-at (4), nonce (6), big-endian.
import { verifyAsync } from "./vendor/noble-ed25519/index.js";

const PREFIX = "CC1.";
const HEADER_BYTES = 22;
const SIGNATURE_BYTES = 64;
export const KINDS = { card: 1, ticket: 2, voucher: 3, perk: 4 };

/** base64url without padding → bytes; throws on other characters. */
export function base64urlDecode(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new Error("not base64url");
  }
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "==".slice(0, (4 - (text.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) { bytes[i] = binary.charCodeAt(i); }
  return bytes;
}

/** The token's parts, or null when it is not a token of the club's format. */
export function parseToken(token) {
  const text = String(token || "").trim();
  if (!text.startsWith(PREFIX)) { return null; }
  let raw;
  try { raw = base64urlDecode(text.slice(PREFIX.length)); } catch (err) { return null; }
  if (raw.length !== HEADER_BYTES + SIGNATURE_BYTES) { return null; }
  const header = raw.slice(0, HEADER_BYTES);
  const view = new DataView(header.buffer);
  const subject = view.getBigUint64(2);
  return {
    header,
    signature: raw.slice(HEADER_BYTES),
    keyId: view.getUint8(0),
    kind: view.getUint8(1),
    subjectId: subject <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(subject) : null,
    version: view.getUint16(10),
    issuedAt: new Date(view.getUint32(12) * 1000),
  };
}

/**
 * Check a token's signature with the public keys ({key id: base64url raw key}) and its kind.
 * Resolves to {valid: true, subjectId, keyId, version, issuedAt} or {valid: false, reason}
 * with reason malformed, unknown_key, forged or wrong_kind (as the server's TokenError).
 */
export async function verifyToken(token, keys, kind = "ticket") {
  const parsed = parseToken(token);
  if (!parsed || parsed.subjectId === null) { return { valid: false, reason: "malformed" }; }
  const key = keys && keys[String(parsed.keyId)];
  if (!key) { return { valid: false, reason: "unknown_key" }; }
  let good = false;
  try {
    // Strict RFC 8032 checks, as the server's (OpenSSL) verification.
    good = await verifyAsync(parsed.signature, parsed.header, base64urlDecode(key), { zip215: false });
  } catch (err) {
    good = false;
  }
  if (!good) { return { valid: false, reason: "forged" }; }
  if (parsed.kind !== KINDS[kind]) { return { valid: false, reason: "wrong_kind" }; }
  return {
    valid: true,
    subjectId: parsed.subjectId,
    keyId: parsed.keyId,
    version: parsed.version,
    issuedAt: parsed.issuedAt,
  };
}
