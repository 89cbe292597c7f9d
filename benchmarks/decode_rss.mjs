// Child process for the RSS measurement: sample 16 frames of one clip and exit.
import { sampleFrames } from '../dist/index.js';
await sampleFrames(process.argv[2], { count: 16, size: 256 });
