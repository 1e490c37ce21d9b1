import { describe, expect, it } from 'vitest';
import { checkShotThresholds, classGroups, groupDefinitions } from '../../src/data/class-groups.js';

describe('many/medium/few-shot groups', () => {
  // Counts at each boundary of the default thresholds (many > 100, few < 20).
  const counts = [500, 101, 100, 20, 19, 0];
  it('many: more than 100 training samples, medium: 20 to 100, few: fewer than 20', () => {
    const groups = groupDefinitions(counts, classGroups(counts, 2));
    expect(groups.many).toEqual({ classes: [0, 1], rule: '> 100 training samples' });
    expect(groups.medium).toEqual({ classes: [2, 3], rule: '20-100 training samples' });
    expect(groups.few).toEqual({ classes: [4, 5], rule: '< 20 training samples' });
    expect(groups.majority).toEqual({ classes: [0, 1], rule: 'the 2 most frequent training classes' });
    expect(groups.minority.classes).toEqual([2, 3, 4, 5]);
  });

  it('by other thresholds; an empty medium group when few = many + 1; refuses few > many + 1', () => {
    expect(groupDefinitions(counts, classGroups(counts, 2), { many: 19, few: 20 }).medium.classes).toEqual([]);
    expect(groupDefinitions(counts, classGroups(counts, 2), { many: 200, few: 1 }).few.classes).toEqual([5]);
    expect(() => checkShotThresholds({ many: 10, few: 20 })).toThrow('shot thresholds many 10, few 20: give whole numbers with 0 <= few <= many + 1');
  });
});
