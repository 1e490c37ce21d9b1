/**
 * The shape of EGTEA Gaze+ split 1, read off its annotation files (../shared/egtea; a test
 * keeps these figures equal to the files): verb classes, clips per class, subjects, recipes.
 * `egtea synth` scales it down to make a stand-in dataset with the same imbalance.
 */
export const EGTEA_VERBS = [
  'Inspect/Read',
  'Open',
  'Take',
  'Cut',
  'Turn on',
  'Put',
  'Operate',
  'Close',
  'Move Around',
  'Wash',
  'Spread',
  'Turn off',
  'Divide/Pull Apart',
  'Clean/Wipe',
  'Mix',
  'Pour',
  'Compress',
  'Crack',
  'Squeeze',
] as const;

/** Clips per verb class (in EGTEA_VERBS order) in train_split1.txt and test_split1.txt. */
export const EGTEA_TRAIN_COUNTS = [602, 1034, 1868, 845, 204, 1731, 189, 400, 335, 358, 90, 90, 153, 62, 108, 139, 32, 30, 29];
export const EGTEA_TEST_COUNTS = [150, 253, 454, 208, 51, 420, 46, 98, 81, 85, 22, 22, 37, 15, 26, 33, 7, 7, 7];

/** Clips per subject in the training and test files. */
export const EGTEA_TRAIN_SUBJECTS: Record<string, number> = {
  OP01: 686,
  OP02: 367,
  OP03: 516,
  OP04: 270,
  OP05: 74,
  OP06: 153,
  P01: 185,
  P02: 522,
  P03: 132,
  P04: 282,
  P05: 147,
  P06: 176,
  P07: 154,
  P08: 146,
  P09: 149,
  P10: 286,
  P11: 212,
  P12: 112,
  P13: 424,
  P14: 335,
  P15: 119,
  P16: 179,
  P17: 279,
  P18: 215,
  P19: 252,
  P20: 271,
  P21: 353,
  P22: 384,
  P23: 328,
  P24: 256,
  P25: 210,
  P26: 125,
};
export const EGTEA_TEST_SUBJECTS: Record<string, number> = {
  OP01: 9,
  OP02: 11,
  OP03: 135,
  OP04: 237,
  OP05: 78,
  OP06: 185,
  P01: 96,
  P02: 289,
  P03: 98,
  P04: 117,
  P05: 79,
  P06: 95,
  P07: 112,
  P08: 49,
  P09: 63,
  P10: 113,
  P11: 50,
  P12: 23,
  P13: 84,
  P14: 7,
  P15: 7,
  P16: 41,
  P17: 28,
  P18: 10,
  P19: 5,
  P20: 1,
};

/** Recipes as clip names spell them (`<recipe id>-<recipe>`), with their clip counts. */
export const EGTEA_RECIPES: Record<string, number> = {
  'R01-PastaSalad': 3461,
  'R02-TurkeySandwich': 928,
  'R03-BaconAndEggs': 2573,
  'R04-ContinentalBreakfast': 980,
  'R05-Cheeseburger': 982,
  'R06-GreekSalad': 1075,
  'R07-Pizza': 322,
};

/** EGTEA's nouns (53) and actions (106) are not modelled by synth; it writes noun 1 and action = verb. */
export const EGTEA_FRAME_RATE = 24;
