import type { Command } from 'commander';
import { resolveDevice, runtimeInfo, type DeviceRequest } from '../../runtime.js';
import { printJson, printKeyValues } from '../output.js';
import { choiceOption } from '../parse.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show the native libraries fvc was built against and the compute device it would use')
    .option('--device <device>', 'auto, cpu or cuda', choiceOption(['auto', 'cpu', 'cuda'] as const), 'auto')
    .option('--json', 'print JSON')
    .action((o: { device: DeviceRequest; json?: boolean }) => {
      const info = runtimeInfo();
      const device = resolveDevice(o.device);
      if (o.json) return printJson({ ...info, device });
      printKeyValues([
        ...Object.entries(info.versions).map(([k, v]) => [k, v] as [string, string]),
        ['cuda', info.torch.cudaAvailable ? `yes (${info.torch.cudaDeviceCount} device(s))` : 'no'],
        ['torch threads', info.torch.threads],
        ['device', device],
      ]);
    });
}
