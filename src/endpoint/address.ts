import { isIP } from 'node:net';

/**
 * The client's address, for per-address limits and the admin listing. Behind
 * `trustProxy` reverse proxies, each appends the address it saw to
 * X-Forwarded-For: the client is the entry that many places from the right
 * (what a client writes itself, further left, is never trusted).
 */
export function clientAddress(socketAddress: string, forwardedFor: string, trustProxy: number): string {
  const peer = normalise(socketAddress);
  if (trustProxy === 0 || forwardedFor === '') return peer;
  const hops = forwardedFor.split(',').map((entry) => entry.trim());
  const candidate = normalise(hops[Math.max(0, hops.length - trustProxy)] ?? '');
  return isIP(candidate) === 0 ? peer : candidate;
}

/** IPv4 as dotted quads, also when uWS gives it IPv4-mapped (::ffff:1.2.3.4). */
function normalise(address: string): string {
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

export const isLoopback = (address: string): boolean => address.startsWith('127.') || address === '::1' || /^(?:0{1,4}:){7}0{0,3}1$/.test(address);
