/** The face-crop flags shared by `fvc stage3`, `fvc cache build` and `fvc train`. */
import type { Command } from 'commander';
import { FACE_DETECTORS, type FaceCropOptions, type FaceDetectorKind } from '../video/faces.js';
import { choiceOption, intOption, numberOption } from './parse.js';

export interface FaceFlags {
  faces?: FaceDetectorKind | true;
  faceModel?: string;
  faceMargin?: number;
  faceUpsample?: number;
  faceDetectSize?: number;
}

export function addFaceOptions(cmd: Command): Command {
  return cmd
    .option('--faces [detector]', `face crops instead of whole frames: ${FACE_DETECTORS.join(' or ')} (default hog: dlib, no model file)`, choiceOption(FACE_DETECTORS))
    .option('--face-model <onnx>', "YuNet's ONNX file (with --faces yunet)")
    .option('--face-margin <x>', "crop side as a multiple of the face's longer side (default 1.3)", numberOption(1, 4))
    .option('--face-upsample <n>', 'hog: times each frame is doubled before detection (default 1)', intOption(0, 4))
    .option('--face-detect-size <px>', 'detect on frames shrunk to this longer side (default 640; 0: full size)', intOption(0, 16384));
}

/** The face-crop settings the flags ask for, or undefined without --faces. */
export function faceOptionsFrom(o: FaceFlags): FaceCropOptions | undefined {
  if (!o.faces) return undefined;
  return {
    detector: o.faces === true ? 'hog' : o.faces,
    ...(o.faceModel ? { model: o.faceModel } : {}),
    ...(o.faceMargin !== undefined ? { margin: o.faceMargin } : {}),
    ...(o.faceUpsample !== undefined ? { upsample: o.faceUpsample } : {}),
    ...(o.faceDetectSize !== undefined ? { detectSize: o.faceDetectSize } : {}),
  };
}
