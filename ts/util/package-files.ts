/**
 * The package's own files that fvc reads at run time (besides its compiled code and
 * the addon, which node-gyp-build finds), relative to the package root. Every such
 * read goes through `packageFile`, and the package test checks each against the
 * tarball npm packs, so a file the CLI needs cannot be left out of `files` unnoticed.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/util/ (or ts/util/ under tsx) is two folders below the package root. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const RUNTIME_FILES = ['bin/fvc.js', 'slurm/job.sbatch', 'slurm/submit.sh'] as const;

export type RuntimeFile = (typeof RUNTIME_FILES)[number];

export const packageFile = (file: RuntimeFile): string => join(PACKAGE_ROOT, file);
