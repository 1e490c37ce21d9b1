/**
 * How each synthetic class looks. Built to reproduce the situation the CDB paper describes:
 * the five frequent classes (Read, Open, Take, Cut, Put) share one look and differ only in the
 * direction they move, jittered so that neighbours overlap at the edges (learnable, but only
 * from motion, and never perfectly: hard); the rare 'Spread' and 'Clean/Wipe' each have a look
 * of their own and no distractor (the paper's easy rare classes); the other rare classes have a
 * shape, colour and texture of their own, two pairs of them differing in direction only. How
 * easy a look is still depends on how many clips show it: in the demo, a model trained from
 * scratch learns the classes with about twenty training clips or more, hardly those with fewer.
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

// Five directions 72 degrees apart, each jittered by up to 40 degrees: neighbours share 8
// degrees on each side, so even a perfect reader of motion confuses about a tenth of them.
const frequent = (direction: number): ClassPattern => ({
  shape: 'disc',
  hue: 30,
  hueJitter: 20,
  texture: 'plain',
  direction,
  directionJitter: 40,
  speed: 0.35,
  size: 0.16,
  distractors: 1,
});

const rare = (shape: Shape, hue: number, texture: Texture, direction: number): ClassPattern => ({
  shape,
  hue,
  hueJitter: 10,
  texture,
  direction,
  directionJitter: 30,
  speed: 0.3,
  size: 0.16,
  distractors: 1,
});

const distinct = (shape: Shape, hue: number, texture: Texture, direction: number): ClassPattern => ({
  shape,
  hue,
  hueJitter: 4,
  texture,
  direction,
  directionJitter: 8,
  speed: 0.25,
  size: 0.18,
  distractors: 0,
});

/** Indexed like EGTEA_VERBS. */
export const CLASS_PATTERNS: readonly ClassPattern[] = [
  frequent(0), // Inspect/Read
  frequent(72), // Open
  frequent(144), // Take
  frequent(216), // Cut
  rare('box', 120, 'plain', 90), // Turn on
  frequent(288), // Put
  rare('cross', 60, 'plain', 0), // Operate
  rare('disc', 240, 'stripes', 45), // Close
  rare('box', 0, 'checks', 135), // Move Around
  rare('disc', 170, 'checks', 315), // Wash
  distinct('bar', 200, 'stripes', 90), // Spread
  rare('box', 120, 'plain', 270), // Turn off
  rare('cross', 330, 'stripes', 180), // Divide/Pull Apart
  distinct('ring', 300, 'checks', 270), // Clean/Wipe
  rare('ring', 90, 'plain', 225), // Mix
  rare('bar', 20, 'checks', 0), // Pour
  rare('box', 270, 'stripes', 200), // Compress
  rare('cross', 150, 'checks', 100), // Crack
  rare('cross', 150, 'checks', 280), // Squeeze
];
