/** A clip ready to load: a folder of frames named as frame-layout.ts says (an image is a one-frame clip). */
export interface ClipRecord {
  clip: string;
  frameDir: string;
  frameCount: number;
  label: number;
  /** Frame size, when known (prepare records it); read from the first frame otherwise. */
  width?: number;
  height?: number;
}
