/**
 * Face crops as DeepfakeBench makes them (dlib's HOG frontal face detector, the largest
 * face followed over the clip, a square 1.3 times the face), for Stage 3 (`--faces`),
 * the frame cache and deep models' clips. The settings are checked here once, in one
 * normal form that also keys cache entries and travels with a trained model.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FvcError } from '../errors.js';
import { native, type NativeCropSquare, type NativeFaceBox, type NativeFaceCrop, type Signalled } from '../native/binding.js';

export const FACE_DETECTORS = ['hog', 'yunet'] as const;
export type FaceDetectorKind = (typeof FACE_DETECTORS)[number];

export interface FaceCropOptions {
  /** Set when the settings come from a trained model: the YuNet file must still have these bytes. */
  modelSha256?: string;
  /** 'hog' (dlib, no model file; default) or 'yunet' (OpenCV's FaceDetectorYN with `model`). */
  detector?: FaceDetectorKind;
  /** YuNet's ONNX file (face_detection_yunet_2023mar.onnx or similar). */
  model?: string;
  /** Crop side as a multiple of the face's longer side (default 1.3, DeepfakeBench's). */
  margin?: number;
  /** HOG: times the frame is doubled before detection (default 1, as dlib's `detector(img, 1)`). */
  upsample?: number;
  /** Frames whose longer side is larger are shrunk to it for detection (default 640; 0: never). */
  detectSize?: number;
  /** HOG: margin threshold (default 0); YuNet: confidence (default 0.9). */
  minScore?: number;
}

/** The checked form: every field set, the model as an absolute path with its SHA-256. */
export interface FaceCrop extends NativeFaceCrop {
  modelSha256?: string;
}

export type CropSquare = NativeCropSquare;
export type FaceBox = NativeFaceBox;

function bad(field: string, message: string): never {
  throw new FvcError('ERR_INVALID_ARGUMENT', `${field}: ${message}`);
}

function numberIn(field: string, v: unknown, fallback: number, lo: number, hi: number, integer = false): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v)))
    bad(field, `${JSON.stringify(v)} is not ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}]`);
  return v;
}

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Checks face-crop settings (`field` names them in errors, e.g. 'faces' or 'deep.faces')
 * and gives their normal form. A YuNet model is hashed, so a replaced file makes new
 * cache entries instead of reusing crops from the old one.
 */
export async function faceCrop(o: FaceCropOptions, field = 'faces'): Promise<FaceCrop> {
  if (o === null || typeof o !== 'object') bad(field, 'must be an object ({ detector, margin, ... })');
  const known = new Set(['detector', 'model', 'margin', 'upsample', 'detectSize', 'minScore', 'modelSha256']);
  for (const k of Object.keys(o)) if (!known.has(k)) bad(`${field}.${k}`, `unknown setting (known: ${[...known].slice(0, 6).join(', ')})`);
  const detector = o.detector ?? 'hog';
  if (!FACE_DETECTORS.includes(detector)) bad(`${field}.detector`, `'${String(detector)}' is not one of ${FACE_DETECTORS.join(', ')}`);
  const out: FaceCrop = {
    detector,
    margin: numberIn(`${field}.margin`, o.margin, 1.3, 1, 4),
    upsample: numberIn(`${field}.upsample`, o.upsample, 1, 0, 4, true),
    detectSize: numberIn(`${field}.detectSize`, o.detectSize, 640, 0, 16384, true),
    minScore: numberIn(`${field}.minScore`, o.minScore, detector === 'yunet' ? 0.9 : 0, -10, 10),
  };
  if (detector === 'yunet') {
    if (!o.model) bad(`${field}.model`, 'the yunet detector needs its ONNX file (OpenCV Zoo face_detection_yunet_*.onnx)');
    const model = resolve(o.model);
    const st = await stat(model).catch(() => undefined);
    if (!st) throw new FvcError('ERR_FILE_NOT_FOUND', `${model}: no such file (${field}.model, the YuNet ONNX file)`);
    if (!st.isFile()) bad(`${field}.model`, `${model} is not a regular file`);
    out.model = model;
    out.modelSha256 = await sha256(model);
    // Settings read back from a trained model: its crops came from exactly this file.
    if (o.modelSha256 !== undefined && o.modelSha256 !== out.modelSha256)
      throw new FvcError('ERR_INVALID_DATA', `${model}: SHA-256 ${out.modelSha256} differs from ${o.modelSha256}, the file the model was trained with (${field}.model)`);
  } else if (o.model) bad(`${field}.model`, 'only the yunet detector reads a model file');
  else if (!native.hasHogFaceDetector())
    bad(`${field}.detector`, 'hog needs dlib and this build of fvc was made without it (install libdlib-dev and run npm run build:native), or use yunet with a model');
  return out;
}

/** What the native side reads (the hash stays on this side). */
export function nativeFaceCrop(f: FaceCrop): NativeFaceCrop {
  const { modelSha256: _hash, ...rest } = f;
  return rest;
}

/** One line for logs and tables: "hog x1.3" or "yunet(model.onnx) x1.3". */
export function describeFaceCrop(f: FaceCrop): string {
  return `${f.detector}${f.model ? `(${f.model.split('/').pop()})` : ''} face crops x${f.margin}`;
}

/**
 * Every face found in each frame of an .npy array (uint8 [N, H, W, 3]), and the square
 * the frame cache and Stage 3 would cut from it (the largest face, then the one overlapping it).
 */
export async function detectFaces(frames: string, faces: FaceCropOptions, o: Signalled = {}): Promise<{ faces: FaceBox[][]; squares: CropSquare[]; faceFrames: number }> {
  const crop = await faceCrop(faces);
  return native.detectFaces({ ...o, frames: resolve(frames), faces: nativeFaceCrop(crop) });
}
