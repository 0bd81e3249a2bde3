// What the numbers were measured on: they mean nothing without it.
import os from 'node:os';

export function describeMachine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown CPU',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.platform()} ${os.release()}`,
    node: process.versions.node,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/**
 * Which CPUs (taskset lists) the server and the load generators run on: the server alone on CPU 0, the
 * clients on the others, so they do not compete for the core being measured. Explicit lists win.
 */
export function cpuPinning(serverCpus, clientCpus) {
  const cores = os.cpus().length;
  return {
    server: serverCpus ?? (cores > 1 ? '0' : ''),
    client: clientCpus ?? (cores > 2 ? `1-${cores - 1}` : cores === 2 ? '1' : ''),
  };
}
