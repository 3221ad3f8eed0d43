/**
 * Deterministic demo data generator (same seed → same rows): a PRNG, uuid and value pools.
 * Kept apart from seed.ts, which only writes what this produces.
 */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    uuid() {
      const h = Array.from({ length: 16 }, () => Math.floor(next() * 256));
      h[6] = (h[6]! & 0x0f) | 0x40;
      h[8] = (h[8]! & 0x3f) | 0x80;
      const s = h.map((b) => b.toString(16).padStart(2, '0')).join('');
      return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
    },
  };
}
export type Rng = ReturnType<typeof prng>;

export const ZONING = [
  { code: 'R-1', description: 'Single-family residential', category: 'residential' },
  { code: 'R-2', description: 'Two-family residential', category: 'residential' },
  { code: 'R-3', description: 'Multi-family residential', category: 'residential' },
  { code: 'C-1', description: 'Neighbourhood commercial', category: 'commercial' },
  { code: 'C-2', description: 'General commercial', category: 'commercial' },
  { code: 'M-1', description: 'Light industrial', category: 'industrial' },
  { code: 'MU', description: 'Mixed use', category: 'mixed' },
  { code: 'OS', description: 'Open space', category: 'open_space' },
] as const;

export const STREETS = [
  'Oak',
  'Maple',
  'Cedar',
  'Pine',
  'Elm',
  'Mission',
  'Harbor',
  'Valley',
  'Market',
  'Lincoln',
  'Park',
  'Hill',
  'Lake',
  'Sunset',
  'Church',
  'Union',
];
export const SUFFIXES = ['St', 'Ave', 'Blvd', 'Way', 'Rd', 'Ct'];
export const FIRST = [
  'Ana',
  'Ben',
  'Chloe',
  'Diego',
  'Emma',
  'Farid',
  'Grace',
  'Hiro',
  'Ines',
  'Jamal',
  'Kim',
  'Luis',
  'Mei',
  'Noor',
  'Omar',
  'Priya',
];
export const LAST = ['Garcia', 'Nguyen', 'Smith', 'Okafor', 'Kowalski', 'Haddad', 'Silva', 'Chen', 'Johnson', 'Rossi', 'Patel', 'Müller'];
export const FIRMS = ['Builders', 'Construction', 'Electric', 'Plumbing', 'Mechanical', 'Renovations', 'Contracting', 'Roofing'];

export const DESCRIPTIONS: Record<string, string[]> = {
  BUILDING: [
    'Single-storey rear addition',
    'Kitchen remodel with wall removal',
    'New detached ADU',
    'Foundation repair',
    'Deck replacement',
  ],
  ELECTRICAL: ['Service upgrade to 200 A', 'EV charger circuit', 'Rooftop solar PV 6 kW', 'Rewire of ground floor'],
  PLUMBING: ['Water heater replacement', 'Sewer lateral replacement', 'Bathroom fixture relocation'],
  MECHANICAL: ['Heat pump installation', 'Furnace replacement', 'Commercial kitchen hood'],
  DEMOLITION: ['Demolition of detached garage', 'Interior demolition, non-structural'],
  GRADING: ['Driveway regrading', 'Retaining wall and grading'],
  FIRE: ['Fire sprinkler tenant improvement', 'Fire alarm upgrade'],
  SIGN: ['Illuminated wall sign', 'Monument sign'],
};

/** Status paths through the lifecycle; the last element is the current status. */
export const PATHS = [
  ['SUBMITTED'],
  ['SUBMITTED', 'UNDER_REVIEW'],
  ['SUBMITTED', 'UNDER_REVIEW', 'CORRECTIONS_REQUIRED'],
  ['SUBMITTED', 'UNDER_REVIEW', 'APPROVED'],
  ['SUBMITTED', 'UNDER_REVIEW', 'APPROVED', 'ISSUED'],
  ['SUBMITTED', 'UNDER_REVIEW', 'APPROVED', 'ISSUED', 'INSPECTIONS'],
  ['SUBMITTED', 'UNDER_REVIEW', 'APPROVED', 'ISSUED', 'INSPECTIONS', 'FINALED'],
  ['SUBMITTED', 'UNDER_REVIEW', 'APPROVED', 'ISSUED', 'INSPECTIONS', 'FINALED'],
  ['SUBMITTED', 'UNDER_REVIEW', 'APPROVED', 'ISSUED', 'EXPIRED'],
  ['SUBMITTED', 'UNDER_REVIEW', 'REJECTED'],
  ['SUBMITTED', 'WITHDRAWN'],
] as const;
