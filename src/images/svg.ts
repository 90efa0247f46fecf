// Rendering report charts (SVG strings from the training code) to PNG, so a report can be viewed where
// SVG is not shown (image viewers, some CI artefact browsers).
import sharp from 'sharp';

export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 144 }).png().toBuffer();
}
