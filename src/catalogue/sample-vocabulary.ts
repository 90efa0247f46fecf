// What the generated sample catalogue is made of: per category, a few sub-category paths, a vocabulary
// only that category uses, and a photo style (palette + shape). Shared noise words and places are mixed
// in so that text models have to learn which words matter.
import type { CategoryName } from '../domain/category.js';

export type Rgb = [number, number, number];
export type SampleShape = 'circle' | 'square' | 'stripes' | 'triangle';

export interface SampleCategory {
  subcategories: string[];
  words: string[];
  /** [shape colour, accent, background] */
  palette: [Rgb, Rgb, Rgb];
  shape: SampleShape;
}

export const SAMPLE_CATEGORIES: Record<CategoryName, SampleCategory> = {
  Appliances: {
    subcategories: ['Kitchen Appliances', 'Washing Machines & Dryers'],
    words: ['fridge', 'freezer', 'washer', 'dryer', 'microwave', 'kettle', 'toaster', 'dishwasher', 'oven', 'hob', 'integrated', 'energy'],
    palette: [[220, 220, 230], [40, 90, 200], [30, 30, 40]],
    shape: 'square',
  },
  'Baby & Kids Stuff': {
    subcategories: ['Prams & Strollers', 'Toys'],
    words: ['pram', 'stroller', 'cot', 'toddler', 'nursery', 'buggy', 'highchair', 'toys', 'baby', 'carseat', 'playmat', 'bottles'],
    palette: [[250, 170, 200], [255, 235, 120], [120, 200, 230]],
    shape: 'circle',
  },
  'Clothes, Footwear & Accessories': {
    subcategories: ["Women's Clothing", "Men's Shoes"],
    words: ['dress', 'jacket', 'trainers', 'boots', 'jeans', 'handbag', 'coat', 'size', 'leather', 'shirt', 'scarf', 'heels'],
    palette: [[150, 30, 60], [240, 200, 210], [245, 240, 230]],
    shape: 'stripes',
  },
  'Computers & Software': {
    subcategories: ['Laptops', 'Computer Monitors'],
    words: ['laptop', 'monitor', 'keyboard', 'processor', 'ssd', 'ram', 'windows', 'graphics', 'desktop', 'intel', 'usb', 'printer'],
    palette: [[20, 20, 25], [0, 200, 255], [200, 205, 210]],
    shape: 'square',
  },
  'DIY Tools & Materials': {
    subcategories: ['Power Tools', 'Building Materials'],
    words: ['drill', 'saw', 'cordless', 'screwdriver', 'timber', 'tiles', 'makita', 'dewalt', 'ladder', 'sander', 'plasterboard', 'toolbox'],
    palette: [[250, 180, 0], [30, 30, 30], [90, 90, 95]],
    shape: 'triangle',
  },
  'Health & Beauty': {
    subcategories: ['Fragrances', 'Hair Care'],
    words: ['perfume', 'makeup', 'lipstick', 'skincare', 'moisturiser', 'fragrance', 'hairdryer', 'straighteners', 'serum', 'nails', 'lashes', 'palette'],
    palette: [[255, 190, 160], [200, 120, 200], [255, 250, 245]],
    shape: 'circle',
  },
  'Home & Garden': {
    subcategories: ['Dining, Living Room Furniture / Sofas', 'Garden & Patio'],
    words: ['sofa', 'table', 'chairs', 'wardrobe', 'mirror', 'garden', 'patio', 'bed', 'mattress', 'drawers', 'oak', 'cushions'],
    palette: [[110, 160, 70], [160, 110, 60], [235, 225, 200]],
    shape: 'triangle',
  },
  'Music, Films, Books & Games': {
    subcategories: ['Books', 'Musical Instruments'],
    words: ['guitar', 'vinyl', 'novel', 'dvd', 'piano', 'paperback', 'album', 'amplifier', 'drums', 'hardback', 'bluray', 'boardgame'],
    palette: [[120, 60, 20], [230, 200, 120], [40, 25, 15]],
    shape: 'stripes',
  },
  'Office Furniture & Equipment': {
    subcategories: ['Office Chairs', 'Desks'],
    words: ['desk', 'office', 'ergonomic', 'filing', 'cabinet', 'swivel', 'shredder', 'whiteboard', 'workstation', 'pedestal', 'boardroom', 'stationery'],
    palette: [[60, 70, 90], [180, 185, 190], [230, 232, 235]],
    shape: 'square',
  },
  'Other Goods': {
    subcategories: ['Collectables', 'Miscellaneous Goods'],
    words: ['collectable', 'antique', 'vintage', 'bundle', 'job', 'lot', 'ornament', 'figurine', 'coins', 'stamps', 'memorabilia', 'curio'],
    palette: [[130, 130, 130], [200, 170, 90], [70, 60, 50]],
    shape: 'circle',
  },
  'Phones, Mobile Phones & Telecoms': {
    subcategories: ['Mobile Phones', 'Phone Accessories'],
    words: ['iphone', 'samsung', 'galaxy', 'unlocked', 'charger', 'sim', 'smartphone', 'handset', 'screen', 'pixel', 'earbuds', 'network'],
    palette: [[10, 10, 10], [250, 250, 250], [0, 120, 90]],
    shape: 'triangle',
  },
  'Sports, Leisure & Travel': {
    subcategories: ['Bicycles', 'Camping & Hiking'],
    words: ['bike', 'bicycle', 'tent', 'camping', 'golf', 'fitness', 'treadmill', 'dumbbells', 'football', 'suitcase', 'helmet', 'fishing'],
    palette: [[0, 150, 60], [255, 255, 255], [20, 80, 160]],
    shape: 'stripes',
  },
  'Video Games & Consoles': {
    subcategories: ['Consoles', 'Games'],
    words: ['playstation', 'xbox', 'nintendo', 'switch', 'ps5', 'ps4', 'controller', 'console', 'gaming', 'fifa', 'headset', 'joycon'],
    palette: [[80, 0, 160], [0, 255, 120], [15, 15, 35]],
    shape: 'circle',
  },
};

/** Words every category uses, so no single shared word gives the class away. */
export const NOISE_WORDS = [
  'good', 'condition', 'collection', 'only', 'used', 'excellent', 'working', 'order', 'cash', 'pick', 'up',
  'smoke', 'free', 'home', 'great', 'price', 'quick', 'sale', 'like', 'new', 'barely', 'boxed', 'please',
  'message', 'available', 'local', 'delivery', 'can', 'arrange', 'offers', 'welcome', 'moving', 'house',
];

export const SAMPLE_PLACES = [
  'Wokingham, Berkshire', 'Inverness, Highland', 'Skegness, Lincolnshire', 'Radstock, Somerset',
  'Hove, East Sussex', 'Greenwich, London', 'Clifton, Manchester', 'Leeds, West Yorkshire',
  'Cardiff, South Glamorgan', 'Belfast, County Antrim', 'Norwich, Norfolk', 'Exeter, Devon',
];

/** Decoration the real descriptions carry: emoji and typographic punctuation (cleaned away later). */
export const DECORATIONS = ['💥', '✅', '📞', '🌈', '!!', '’', ' – ', '…'];
