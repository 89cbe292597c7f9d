import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { native, type ComputeDevice, type KernelCheck, type RuntimeInfo } from './native/binding.js';

export type { ComputeDevice };
export type DeviceRequest = 'auto' | ComputeDevice;
export type { KernelCheck, RuntimeInfo };

/** Versions of the linked libraries and what LibTorch sees (loads the addon). */
export function runtimeInfo(): RuntimeInfo {
  return native.runtimeInfo();
}

/** What `fvc info` reports of the build: which LibTorch and XGBoost run, with what CUDA, on which GPUs. */
export interface BuildReport {
  addon: { path: string; kind: 'prebuild' | 'local build' };
  torch: { version: string; path: string; cuda: string | null; cudnn: string | null; gpus: number };
  xgboost: { version: string; path: string; cuda: boolean };
  /** The GPUs the driver lists (nvidia-smi), where it is installed. */
  gpus: Array<{ index: number; name: string; memoryMiB: number }>;
}

function driverGpus(): BuildReport['gpus'] {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(',').map((x) => x.trim()))
      .map(([i, name, mem]) => ({ index: Number(i), name: name ?? '', memoryMiB: Number(mem) }));
  } catch {
    return []; // no driver (or no nvidia-smi): what LibTorch sees still says it
  }
}

export function buildReport(info: RuntimeInfo = runtimeInfo()): BuildReport {
  const config = info.torch.buildConfig ?? '';
  const cuda = /CUDA Runtime (\S+)/.exec(config)?.[1] ?? null;
  const cudnn = /CuDNN (\S+)/.exec(config)?.[1] ?? null;
  const xgb = native.xgboostInfo();
  return {
    addon: { path: info.libraries.addon, kind: info.libraries.addon.includes('/prebuilds/') ? 'prebuild' : 'local build' },
    torch: { version: info.versions.torch ?? '', path: info.libraries.torch, cuda, cudnn, gpus: info.torch.cudaDeviceCount },
    xgboost: { version: xgb.version, path: info.libraries.xgboost, cuda: xgb.cuda },
    gpus: driverGpus(),
  };
}

let warnedCpuBuild = false;

/**
 * 'auto' picks CUDA when LibTorch sees a GPU; 'cuda' without one is ERR_INVALID_ARGUMENT.
 * 'auto' falling back to the CPU on a machine with an NVIDIA device says so once: the
 * usual cause is a CPU build (a prebuild) where a CUDA one was meant.
 */
export function resolveDevice(device: DeviceRequest): ComputeDevice {
  const resolved = native.resolveDevice(device);
  if (device === 'auto' && resolved === 'cpu' && !warnedCpuBuild && existsSync('/dev/nvidia0')) {
    warnedCpuBuild = true;
    process.stderr.write(
      `fvc: warning: this machine has an NVIDIA GPU but fvc's LibTorch sees none, so deep work runs on the CPU (LibTorch ${native.runtimeInfo().versions.torch}); reinstall with FVC_LIBTORCH set to a CUDA LibTorch (README "GPU builds"), or pass --device cpu to silence this\n`,
    );
  }
  return resolved;
}

/** LibTorch intra-op threads; it may start with one, so set it explicitly. */
export function setTorchThreads(n: number): void {
  native.setThreads(n);
}

/**
 * fvc's own CPU kernels, where it replaces LibTorch's (depthwise 3D convolution, for
 * X3D), run against LibTorch's on random inputs: output, input-gradient and
 * weight-gradient differences per case. A check for builds against another LibTorch
 * or compiler (`fvc info --check-kernels`).
 */
export function checkNativeKernels(): KernelCheck[] {
  return native.checkKernels();
}
