/**
 * How each synthetic class looks. Built to reproduce the situation the CDB paper describes:
 * the five frequent classes (Read, Open, Take, Cut, Put) share one look and differ only in a
 * motion direction that is jittered so much their distributions overlap (hard, confusable);
 * the rare 'Spread' and 'Clean/Wipe' each have a look of their own (easy despite few samples);
 * the other rare classes sit in between.
 */
export type Shape = 'disc' | 'box' | 'ring' | 'bar' | 'cross';
export type Texture = 'plain' | 'stripes' | 'checks';

export interface ClassPattern {
  shape: Shape;
  /** Object hue in degrees, and how far a clip may stray from it. */
  hue: number;
  hueJitter: number;
  texture: Texture;
  /** Motion direction in degrees (0 = right, 90 = down), and its per-clip jitter. */
  direction: number;
  directionJitter: number;
  /** Speed in frame widths per second. */
  speed: number;
  /** Object radius as a fraction of the frame height. */
  size: number;
  /** Moving blobs that carry no class information. */
  distractors: number;
}

const frequent = (direction: number): ClassPattern => ({
  shape: 'disc', hue: 30, hueJitter: 25, texture: 'plain', direction, directionJitter: 70, speed: 0.35, size: 0.14, distractors: 2,
});

const rare = (shape: Shape, hue: number, texture: Texture, direction: number): ClassPattern => ({
  shape, hue, hueJitter: 15, texture, direction, directionJitter: 35, speed: 0.3, size: 0.13, distractors: 1,
});

/** Indexed like EGTEA_VERBS. */
export const CLASS_PATTERNS: readonly ClassPattern[] = [
  frequent(60), // Inspect/Read
  frequent(100), // Open
  frequent(140), // Take
  frequent(180), // Cut
  rare('box', 120, 'plain', 90), // Turn on
  frequent(220), // Put
  rare('cross', 60, 'plain', 0), // Operate
  rare('disc', 240, 'stripes', 45), // Close
  rare('box', 0, 'checks', 135), // Move Around
  rare('disc', 170, 'checks', 315), // Wash
  { shape: 'bar', hue: 200, hueJitter: 4, texture: 'stripes', direction: 90, directionJitter: 8, speed: 0.25, size: 0.16, distractors: 0 }, // Spread
  rare('box', 120, 'plain', 270), // Turn off
  rare('cross', 330, 'stripes', 180), // Divide/Pull Apart
  { shape: 'ring', hue: 300, hueJitter: 4, texture: 'checks', direction: 270, directionJitter: 8, speed: 0.25, size: 0.16, distractors: 0 }, // Clean/Wipe
  rare('ring', 90, 'plain', 225), // Mix
  rare('bar', 20, 'checks', 0), // Pour
  rare('box', 270, 'stripes', 200), // Compress
  rare('disc', 0, 'plain', 30), // Crack
  rare('cross', 150, 'checks', 100), // Squeeze
];
