import type { Command } from 'commander';
import { buildReport, checkNativeKernels, resolveDevice, runtimeInfo, type DeviceRequest } from '../../runtime.js';
import { printJson, printKeyValues } from '../output.js';
import { deviceOption, intOption, withGpu } from '../parse.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show the native libraries fvc was built against and the compute device it would use')
    .option('--device <device>', 'auto, cpu, cuda or cuda:<index>', deviceOption, 'auto' as DeviceRequest)
    .option('--gpu <index>', 'run on GPU <index> (--device cuda:<index>)', intOption(0, 1023))
    .option('--check-kernels', "also run fvc's own CPU kernels against LibTorch's on random inputs; exits 1 if any differs by more than 1e-4")
    .option('--json', 'print JSON')
    .action((o: { device: DeviceRequest; gpu?: number; json?: boolean; checkKernels?: boolean }) => {
      const info = runtimeInfo();
      const build = buildReport(info);
      const device = resolveDevice(withGpu(o.device, o.gpu));
      const checks = o.checkKernels ? checkNativeKernels() : undefined;
      if (checks?.some((c) => !c.ok)) process.exitCode = 1;
      if (o.json) return printJson({ ...info, build, device, ...(checks ? { kernelChecks: checks } : {}) });
      printKeyValues([
        ...Object.entries(info.versions).map(([k, v]) => [k, v] as [string, string]),
        ['addon', `${build.addon.path} (${build.addon.kind})`],
        ['libtorch', `${build.torch.version} at ${build.torch.path}; CUDA ${build.torch.cuda ?? 'none (a CPU build)'}, cuDNN ${build.torch.cudnn ?? 'none'}`],
        ['libxgboost', `${build.xgboost.version} at ${build.xgboost.path}; ${build.xgboost.cuda ? 'CUDA' : 'CPU only'}`],
        ['cuda', info.torch.cudaAvailable ? `yes (${info.torch.cudaDeviceCount} device(s) seen by LibTorch)` : 'no'],
        ...build.gpus.map((g) => [`gpu ${g.index}`, `${g.name}, ${g.memoryMiB} MiB`] as [string, string]),
        ['torch threads', info.torch.threads],
        ['device', device],
        ...(checks ?? []).map((c) => [`${c.kernel} (${c.shape})`, `${c.ok ? 'ok' : 'FAILED'}, largest relative difference ${c.largest.toExponential(1)}`] as [string, string]),
      ]);
    });
}
