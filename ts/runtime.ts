import { native, type RuntimeInfo } from './native/binding.js';

export type DeviceRequest = 'auto' | 'cpu' | 'cuda';
export type { RuntimeInfo };

/** Versions of the linked libraries and what LibTorch sees (loads the addon). */
export function runtimeInfo(): RuntimeInfo {
  return native.runtimeInfo();
}

/** 'auto' picks CUDA when LibTorch sees a GPU; 'cuda' without one is ERR_INVALID_ARGUMENT. */
export function resolveDevice(device: DeviceRequest): 'cpu' | 'cuda' {
  return native.resolveDevice(device);
}

/** LibTorch intra-op threads; it may start with one, so set it explicitly. */
export function setTorchThreads(n: number): void {
  native.setThreads(n);
}
