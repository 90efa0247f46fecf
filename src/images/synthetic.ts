// Deterministic "photos" for generated sample catalogues: a shape drawn in the category's palette,
// with seeded position/size/rotation jitter and pixel noise, so an image model has something
// learnable but not trivially identical. Same spec in, same JPEG bytes out.
import sharp from 'sharp';

export type Rgb = [number, number, number];
export type SyntheticShape = 'circle' | 'square' | 'stripes' | 'triangle';

export interface SyntheticPhotoSpec {
  seed: number;
  /** First colour draws the shape, the second (if any) the accents, the last the background. */
  palette: Rgb[];
  shape: SyntheticShape;
  width: number;
  height: number;
}

const MAX_SIDE = 4096;
const NOISE_AMPLITUDE = 18;

/** mulberry32: tiny, fast and good enough for jitter; the seed fully determines the sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function validate(spec: SyntheticPhotoSpec): void {
  for (const side of ['width', 'height'] as const) {
    const v = spec[side];
    if (!Number.isInteger(v) || v < 8 || v > MAX_SIDE) {
      throw new RangeError(`The synthetic photo ${side} must be an integer from 8 to ${MAX_SIDE}; got ${v}. Pass a size in that range.`);
    }
  }
  if (!Number.isFinite(spec.seed)) {
    throw new RangeError(`The synthetic photo seed must be a finite number; got ${spec.seed}. Pass an integer seed.`);
  }
  if (spec.palette.length === 0) {
    throw new RangeError('The synthetic photo palette is empty; pass at least one [r, g, b] colour.');
  }
  for (const c of spec.palette) {
    if (c.length !== 3 || c.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) {
      throw new RangeError(`The palette colour ${JSON.stringify(c)} is not an [r, g, b] triple of integers 0-255; fix the palette.`);
    }
  }
}

const css = (c: Rgb): string => `rgb(${c[0]},${c[1]},${c[2]})`;

function shapeSvg(spec: SyntheticPhotoSpec, rand: () => number): string {
  const { width: w, height: h, palette } = spec;
  const main = palette[0] as Rgb;
  const accent = palette[1] ?? main;
  const m = Math.min(w, h);
  // Centre jitter up to 15% of each side, size 30-55% of the shorter side, any rotation.
  const cx = w / 2 + (rand() - 0.5) * 0.3 * w;
  const cy = h / 2 + (rand() - 0.5) * 0.3 * h;
  const r = m * (0.15 + rand() * 0.125);
  const angle = rand() * 360;
  const f = (n: number): string => n.toFixed(2);
  switch (spec.shape) {
    case 'circle':
      return `<circle cx="${f(cx)}" cy="${f(cy)}" r="${f(r)}" fill="${css(main)}"/>` +
        `<circle cx="${f(cx)}" cy="${f(cy)}" r="${f(r * 0.45)}" fill="${css(accent)}"/>`;
    case 'square':
      return `<g transform="rotate(${f(angle)} ${f(cx)} ${f(cy)})">` +
        `<rect x="${f(cx - r)}" y="${f(cy - r)}" width="${f(2 * r)}" height="${f(2 * r)}" fill="${css(main)}"/>` +
        `<rect x="${f(cx - r * 0.4)}" y="${f(cy - r * 0.4)}" width="${f(0.8 * r)}" height="${f(0.8 * r)}" fill="${css(accent)}"/></g>`;
    case 'triangle': {
      const pts = [0, 120, 240]
        .map((d) => ((d + angle) * Math.PI) / 180)
        .map((a) => `${f(cx + r * 1.2 * Math.cos(a))},${f(cy + r * 1.2 * Math.sin(a))}`)
        .join(' ');
      return `<polygon points="${pts}" fill="${css(main)}"/>`;
    }
    case 'stripes': {
      // Diagonal-ish bands across the whole frame, alternating shape and accent colours.
      const band = Math.max(2, m * (0.06 + rand() * 0.06));
      const tilt = (rand() - 0.5) * 60;
      const span = Math.hypot(w, h);
      const bands: string[] = [];
      for (let i = 0, x = -span; x < span; i++, x += band * 2) {
        const colour = i % 2 === 0 ? main : accent;
        bands.push(`<rect x="${f(w / 2 + x)}" y="${f(h / 2 - span)}" width="${f(band)}" height="${f(2 * span)}" fill="${css(colour)}"/>`);
      }
      return `<g transform="rotate(${f(tilt)} ${f(w / 2)} ${f(h / 2)})">${bands.join('')}</g>`;
    }
    default: {
      const never: never = spec.shape;
      throw new RangeError(`Unknown synthetic shape ${JSON.stringify(never)}; use circle, square, stripes or triangle.`);
    }
  }
}

/** Renders a deterministic JPEG (quality 90) of `spec.width` x `spec.height`. */
export async function renderSyntheticPhoto(spec: SyntheticPhotoSpec): Promise<Buffer> {
  validate(spec);
  const rand = seededRandom(spec.seed);
  const { width: w, height: h, palette } = spec;
  const background = palette.length > 1 ? (palette[palette.length - 1] as Rgb) : ([240, 240, 235] as Rgb);
  // Background brightness jitter so no two photos share exactly the same backdrop.
  const shade = 0.85 + rand() * 0.3;
  const bg: Rgb = [0, 1, 2].map((i) => Math.min(255, Math.round((background[i] as number) * shade))) as Rgb;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">` +
    `<rect width="${w}" height="${h}" fill="${css(bg)}"/>${shapeSvg(spec, rand)}</svg>`;

  const { data, info } = await sharp(Buffer.from(svg))
    .flatten({ background: '#000000' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  // Seeded per-pixel noise: camera-like grain that keeps the photo learnable but never identical.
  for (let i = 0; i < data.length; i++) {
    const v = (data[i] as number) + Math.round((rand() - 0.5) * 2 * NOISE_AMPLITUDE);
    data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .jpeg({ quality: 90, chromaSubsampling: '4:2:0', mozjpeg: false })
    .toBuffer();
}
