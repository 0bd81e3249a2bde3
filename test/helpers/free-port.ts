import net, { type AddressInfo } from 'node:net';

/**
 * Loopback TCP ports nothing listens on right now, for processes that must be told a port up front (nginx,
 * Prometheus, the demo). The kernel picks them, so they never land on a port another test holds, and all are
 * held until the last is picked, so they differ; the short window before the process binds is the risk left.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

export const freePort = async (): Promise<number> => (await freePorts(1))[0];
