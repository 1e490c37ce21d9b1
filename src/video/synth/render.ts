import type { SeededRandom } from '../../util/random.js';
import type { ClassPattern, Shape, Texture } from './patterns.js';

export interface FrameSize {
  width: number;
  height: number;
}

function hsv(h: number, s: number, v: number): [number, number, number] {
  const c = v * s;
  const hp = (((h % 360) + 360) % 360) / 60;
  const x = c * (1 - Math.abs((hp % 2) - 1));
  const [r, g, b] = hp < 1 ? [c, x, 0] : hp < 2 ? [x, c, 0] : hp < 3 ? [0, c, x] : hp < 4 ? [0, x, c] : hp < 5 ? [x, 0, c] : [c, 0, x];
  const m = v - c;
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

function inside(shape: Shape, dx: number, dy: number, r: number): boolean {
  switch (shape) {
    case 'disc':
      return dx * dx + dy * dy <= r * r;
    case 'ring': {
      const d = dx * dx + dy * dy;
      return d <= r * r && d >= 0.45 * r * r;
    }
    case 'box':
      return Math.abs(dx) <= r && Math.abs(dy) <= r;
    case 'bar':
      return Math.abs(dx) <= 2 * r && Math.abs(dy) <= r / 3;
    case 'cross':
      return (Math.abs(dx) <= r / 4 && Math.abs(dy) <= r) || (Math.abs(dy) <= r / 4 && Math.abs(dx) <= r);
  }
}

/** Texture at offset (x, y) from the centre; sized by the radius so it reads at any frame size. */
function shade(texture: Texture, x: number, y: number, r: number): number {
  if (texture === 'stripes') return Math.sin(((x + y) * 2 * Math.PI) / (0.6 * r)) > 0 ? 1 : 0.45;
  if (texture === 'checks') return (Math.floor((2 * x) / r + 8) + Math.floor((2 * y) / r + 8)) % 2 === 0 ? 1 : 0.4;
  return 1;
}

interface MovingObject {
  shape: Shape;
  texture: Texture;
  color: [number, number, number];
  radius: number;
  x: number;
  y: number;
  vx: number;
  vy: number;
}

/** Draws one object, wrapping around the frame edges. */
function draw(frame: Buffer, size: FrameSize, o: MovingObject, t: number): void {
  const { width: w, height: h } = size;
  const cx = (((o.x + o.vx * t) % w) + w) % w;
  const cy = (((o.y + o.vy * t) % h) + h) % h;
  const reach = Math.ceil(o.shape === 'bar' ? 2 * o.radius : o.radius);
  for (let py = Math.floor(cy - reach); py <= cy + reach; py++) {
    const y = ((py % h) + h) % h;
    for (let px = Math.floor(cx - reach); px <= cx + reach; px++) {
      if (!inside(o.shape, px - cx, py - cy, o.radius)) continue;
      const x = ((px % w) + w) % w;
      const k = shade(o.texture, px - cx, py - cy, o.radius);
      const at = (y * w + x) * 3;
      frame[at] = o.color[0] * k;
      frame[at + 1] = o.color[1] * k;
      frame[at + 2] = o.color[2] * k;
    }
  }
}

/** A clip's frames as RGB24 buffers: a soft background, the class's object, distractors. */
export function* renderClip(pattern: ClassPattern, random: SeededRandom, size: FrameSize, fps: number, frames: number): Generator<Buffer> {
  const { width: w, height: h } = size;
  const background = Buffer.alloc(w * h * 3);
  const [br, bg, bb] = hsv(random.uniform(0, 360), 0.25, 0.45);
  for (let y = 0; y < h; y++) {
    const k = 0.75 + (0.5 * y) / h;
    for (let x = 0; x < w; x++) {
      const at = (y * w + x) * 3;
      background[at] = Math.min(255, br * k);
      background[at + 1] = Math.min(255, bg * k);
      background[at + 2] = Math.min(255, bb * k);
    }
  }
  const moving = (shape: Shape, texture: Texture, hue: number, direction: number, speed: number, radius: number): MovingObject => {
    const angle = (direction * Math.PI) / 180;
    return {
      shape,
      texture,
      color: hsv(hue, 0.8, 0.95),
      radius,
      x: random.uniform(0, w),
      y: random.uniform(0, h),
      vx: Math.cos(angle) * speed * w,
      vy: Math.sin(angle) * speed * w,
    };
  };
  const jitter = (amount: number) => random.uniform(-amount, amount);
  const objects: MovingObject[] = [];
  for (let i = 0; i < pattern.distractors; i++) {
    objects.push(moving('disc', 'plain', random.uniform(0, 360), random.uniform(0, 360), random.uniform(0.1, 0.4), h * random.uniform(0.05, 0.1)));
  }
  objects.push(
    moving(
      pattern.shape,
      pattern.texture,
      pattern.hue + jitter(pattern.hueJitter),
      pattern.direction + jitter(pattern.directionJitter),
      pattern.speed * random.uniform(0.8, 1.2),
      h * pattern.size * random.uniform(0.85, 1.15),
    ),
  );
  for (let f = 0; f < frames; f++) {
    const frame = Buffer.from(background);
    for (const o of objects) draw(frame, size, o, f / fps);
    yield frame;
  }
}
