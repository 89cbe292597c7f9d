import { resolve } from 'node:path';
import { native, type NativeCropSquare, type NativeGeometry, type ProgressEvent } from '../native/binding.js';
import { nativeFaceCrop, type FaceCrop } from './faces.js';

export type Interpolation = 'nearest' | 'bilinear' | 'bicubic' | 'area' | 'lanczos';

export interface SampleFramesOptions {
  /** Frames to sample uniformly across the duration (default 8). */
  count?: number;
  /** Output size: the square side when letterboxing, else the longer side; 0 keeps native size (default 256). */
  size?: number;
  /** Pad to size x size with black bars (default true); false keeps the native aspect ratio. */
  letterbox?: boolean;
  interpolation?: Interpolation;
  /** Decoder threads; 0 lets libav choose (default). */
  threads?: number;
  /** Let the codec skip non-reference frames that cannot be sampled (default true). */
  skipNonReference?: boolean;
  /** Seek between targets (default true); false decodes sequentially from the start. */
  seek?: boolean;
  /**
   * Follow each sampled frame with the next frame of the stream (2 x count frames,
   * interleaved: sample, its successor, ...), for cues between truly adjacent frames.
   */
  adjacent?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  /** Also write the frames as a NumPy uint8 array [N, H, W, 3] (atomically). */
  npy?: string;
  /** Also write one PNG per frame into this folder. */
  pngDir?: string;
  /** Return the pixels to JS (default true); false when only files are wanted. */
  returnData?: boolean;
  /**
   * Face crops (checked by faceCrop()): frames are decoded at their own size, the
   * followed face's square is cut out and resized to size x size (letterbox is ignored).
   */
  faces?: FaceCrop;
}

export interface SampledFrames {
  path: string;
  /** RGB uint8, row-major [count, height, width, 3]; absent when returnData is false. */
  data: Buffer | undefined;
  shape: [number, number, number, 3];
  /** Presentation time in seconds of each returned frame. */
  timestamps: number[];
  /** The instant (s) each frame was sampled for: centres of `count` equal segments. */
  targets: number[];
  /** Damage found on the way (undecodable packets, concealed errors, a truncated tail). */
  warnings: string[];
  /**
   * Per returned frame: true when it, or a frame it was decoded from, had a decoder
   * error or concealment (libav returns such frames looking plausible).
   */
  damaged: boolean[];
  geometry: NativeGeometry;
  /** With face crops: frames in which a face was found, and each frame's square in source pixels. */
  faces?: { frames: number; squares: NativeCropSquare[] };
  stats: { seeks: number; decodedFrames: number; failedPackets: number; decoderErrors: number; damagedFrames: number; keyframeSource: 'index' | 'scan' | 'none' };
}

/**
 * Decode `count` frames uniformly spread over the video, converted to RGB at the
 * requested geometry. The frame for each target is the one on screen at that time.
 */
export async function sampleFrames(path: string, options: SampleFramesOptions = {}): Promise<SampledFrames> {
  const { npy, pngDir, faces, ...rest } = options;
  const r = await native.sampleFrames({
    ...rest,
    ...(faces ? { faces: nativeFaceCrop(faces) } : {}),
    path: resolve(path),
    ...(npy ? { npyPath: resolve(npy) } : {}),
    ...(pngDir ? { pngDir: resolve(pngDir) } : {}),
  });
  return {
    path: r.path,
    data: r.data,
    shape: [r.count, r.height, r.width, 3],
    timestamps: r.timestamps,
    targets: r.targets,
    warnings: r.warnings,
    damaged: r.damaged,
    geometry: r.geometry,
    ...(r.faceSquares ? { faces: { frames: r.faceFrames ?? 0, squares: r.faceSquares } } : {}),
    stats: {
      seeks: r.seeks,
      decodedFrames: r.decodedFrames,
      failedPackets: r.failedPackets,
      decoderErrors: r.decoderErrors,
      damagedFrames: r.damaged.filter(Boolean).length,
      keyframeSource: r.keyframeSource,
    },
  };
}
