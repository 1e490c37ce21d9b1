import type { ClassPair } from '../data/images/class-pair.js';
import type { ImageDataset } from '../data/images/import-images.js';

/** How a sweep builds each cell's images from public files (egtea images). */
export interface SweepSource {
  dataset: ImageDataset;
  dir: string;
  classes?: ClassPair;
  /** mnist-imbalanced: images per split instead of the paper's 5000 / 500 / 800 (a scaled protocol). */
  sizes?: { trainingImages: number; validationPerClass: number; testPerClass: number };
}
