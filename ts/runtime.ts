import { native, type ComputeDevice, type KernelCheck, type RuntimeInfo } from './native/binding.js';

export type { ComputeDevice };
export type DeviceRequest = 'auto' | ComputeDevice;
export type { KernelCheck, RuntimeInfo };

/** Versions of the linked libraries and what LibTorch sees (loads the addon). */
export function runtimeInfo(): RuntimeInfo {
  return native.runtimeInfo();
}

/** 'auto' picks CUDA when LibTorch sees a GPU; 'cuda' without one is ERR_INVALID_ARGUMENT. */
export function resolveDevice(device: DeviceRequest): ComputeDevice {
  return native.resolveDevice(device);
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
