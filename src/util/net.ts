// Host and port joined as Go's net.JoinHostPort does: an IPv6 address (it holds a colon) in
// brackets, so the port stays separable.
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
