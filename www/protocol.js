// @ts-check
// The iframe page's postMessage protocol (embed.html, www/embed.js; README.md, Embedding):
// which messages from the host are commands. Anything else is ignored and counted.

/** Commands the host may send. */
export const COMMANDS = ["play", "pause", "step", "reset", "set-state", "status"];

/**
 * Whether `data` is exactly one of the protocol's commands: {type} for play, pause, step,
 * reset and status; {type: "set-state", state: {...}} with a plain object. Extra keys, other
 * types and non-objects are not commands.
 */
export function isCommand(data) {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return false;
  if (typeof data.type !== "string" || !COMMANDS.includes(data.type)) return false;
  const keys = Object.keys(data);
  if (data.type === "set-state") {
    const s = data.state;
    return keys.length === 2 && s !== null && typeof s === "object" && !Array.isArray(s);
  }
  return keys.length === 1;
}
