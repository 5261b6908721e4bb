// The member card without signal (app/cards/devices.py, the same format and the same checks):
//   certificate = key id (1) · kind 5 (1) · card number (8) · device id (4) · not after (4)
//                 · device public key, raw P-256 point (65) · name length (1) · name (UTF-8)
//                 · Ed25519 signature by the club (64)
//   code = "CC2." + base64url(certificate · time, Unix seconds (4) · ECDSA P-256 SHA-256
//          signature of (certificate · time) by the phone's own key, r‖s (64))
// The owner's card page makes codes (makeCode); a staff phone checks them offline (verifyCode).
import { verifyAsync } from "./vendor/noble-ed25519/index.js";
import { base64urlDecode } from "./checkin-verify.js";

export const CODE_PREFIX = "CC2.";
const DEVICE_KIND = 5;
const HEAD_BYTES = 84;
const MAX_NAME_BYTES = 24;
const ED25519_BYTES = 64;
const TIME_BYTES = 4;
const ECDSA_BYTES = 64;
const MAX_CODE_LENGTH = CODE_PREFIX.length + 320;
const ECDSA = { name: "ECDSA", namedCurve: "P-256" };
const SIGN = { name: "ECDSA", hash: "SHA-256" };

/** bytes → base64url without padding. */
export function base64urlEncode(bytes) {
  let binary = "";
  for (const byte of bytes) { binary += String.fromCharCode(byte); }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) { out.set(part, at); at += part.length; }
  return out;
}

function timeBytes(seconds) {
  const bytes = new Uint8Array(TIME_BYTES);
  new DataView(bytes.buffer).setUint32(0, seconds);
  return bytes;
}

/** A new key pair for this browser: the private half signs but can never be read out. */
export function newDeviceKey() {
  return crypto.subtle.generateKey(ECDSA, false, ["sign", "verify"]);
}

/** The raw public point (65 bytes) of a key pair, base64url. */
export async function publicKeyText(publicKey) {
  return base64urlEncode(new Uint8Array(await crypto.subtle.exportKey("raw", publicKey)));
}

/** The code for ``seconds`` (Unix time): the certificate (bytes), the time, the signature. */
export async function makeCode(certificate, privateKey, seconds) {
  const signed = concat(certificate, timeBytes(seconds));
  const signature = new Uint8Array(await crypto.subtle.sign(SIGN, privateKey, signed));
  return CODE_PREFIX + base64urlEncode(concat(signed, signature));
}

/** The parts of a code, or null when it is not a code of this format. */
export function parseCode(text) {
  const code = String(text || "").trim();
  if (!code.startsWith(CODE_PREFIX) || code.length > MAX_CODE_LENGTH) { return null; }
  let raw;
  try { raw = base64urlDecode(code.slice(CODE_PREFIX.length)); } catch (err) { return null; }
  const tail = ED25519_BYTES + TIME_BYTES + ECDSA_BYTES;
  if (raw.length < HEAD_BYTES + tail) { return null; }
  const nameLength = raw[HEAD_BYTES - 1];
  const bodyLength = HEAD_BYTES + nameLength;
  if (nameLength > MAX_NAME_BYTES || raw.length !== bodyLength + tail) { return null; }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let name;
  try {
    name = new TextDecoder("utf-8", { fatal: true }).decode(raw.slice(HEAD_BYTES, bodyLength));
  } catch (err) { return null; }
  return {
    body: raw.slice(0, bodyLength),
    certSignature: raw.slice(bodyLength, bodyLength + ED25519_BYTES),
    signed: raw.slice(0, bodyLength + ED25519_BYTES + TIME_BYTES),
    deviceSignature: raw.slice(bodyLength + ED25519_BYTES + TIME_BYTES),
    keyId: raw[0],
    kind: raw[1],
    cardNumber: view.getBigUint64(2).toString().padStart(16, "0"),
    deviceId: view.getUint32(10),
    notAfter: view.getUint32(14),
    publicKey: raw.slice(18, 83),
    name,
    madeAt: view.getUint32(bodyLength + ED25519_BYTES),
  };
}

/**
 * Check a code with the club's public keys ({key id: base64url}) against this phone's clock.
 * Resolves to {valid: true, cardNumber, name, deviceId, madeAt (s)} or {valid: false, reason}
 * with the server's reasons: malformed, forged, wrong_kind, device_expired, stale_code.
 */
export async function verifyCode(text, keys, { now = Date.now(), windowSeconds = 45 } = {}) {
  const code = parseCode(text);
  if (!code) { return { valid: false, reason: "malformed" }; }
  const key = keys && keys[String(code.keyId)];
  let good = false;
  try {
    good = Boolean(key) && await verifyAsync(code.certSignature, code.body, base64urlDecode(key), { zip215: false });
  } catch (err) {
    good = false;
  }
  if (!good) { return { valid: false, reason: "forged" }; }
  if (code.kind !== DEVICE_KIND) { return { valid: false, reason: "wrong_kind" }; }
  try {
    const device = await crypto.subtle.importKey("raw", code.publicKey, ECDSA, false, ["verify"]);
    good = await crypto.subtle.verify(SIGN, device, code.deviceSignature, code.signed);
  } catch (err) {
    good = false;
  }
  if (!good) { return { valid: false, reason: "forged" }; }
  const seconds = now / 1000;
  if (code.notAfter <= seconds) { return { valid: false, reason: "device_expired" }; }
  if (Math.abs(seconds - code.madeAt) > windowSeconds) { return { valid: false, reason: "stale_code" }; }
  return { valid: true, cardNumber: code.cardNumber, name: code.name, deviceId: code.deviceId, madeAt: code.madeAt };
}
