// The vocabulary helpers behind statement extent and did-you-mean.
import { describe, expect, it } from 'vitest';
import {
  STATEMENTS,
  argumentWords,
  contextOf,
  didYouMean,
  editDistance,
} from '../../grammar/keywords.js';

describe('editDistance', () => {
  it.each([
    ['heads', 'heads', 0],
    ['heds', 'heads', 1],
    ['layernrom', 'layernorm', 1], // a swap of neighbours is one edit
    ['gleu', 'gelu', 1],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
  ])('%s → %s = %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('didYouMean', () => {
  it('suggests the closest candidate within one edit per three letters', () => {
    expect(didYouMean('widht', ['width', 'depth'])).toBe('width');
    expect(didYouMean('WIDTH', ['width'])).toBe('width');
    expect(didYouMean('qkvbias', ['qkv_bias', 'qk_norm'])).toBe('qkv_bias');
    expect(didYouMean('wdt', ['width'])).toBeUndefined(); // 2 edits for 3 letters
    expect(didYouMean('zebra', ['width', 'depth'])).toBeUndefined();
  });
  it('never suggests the word itself', () => expect(didYouMean('pool', ['pool'])).toBeUndefined());
});

describe('vocabulary', () => {
  it('knows where each statement belongs', () => {
    expect([contextOf('width'), contextOf('batch'), contextOf('crop'), contextOf('nope')]).toEqual([
      'model',
      'train',
      'preprocess',
      undefined,
    ]);
  });
  it('lists the argument words of a statement', () => {
    expect(argumentWords(STATEMENTS.model.mlp!)).toEqual([
      'ratio',
      'hidden',
      'gelu',
      'gelu_tanh',
      'relu',
      'swiglu',
    ]);
    expect(argumentWords(STATEMENTS.model.image!)).toEqual(['x']);
    expect(argumentWords(STATEMENTS.train.clip!)).toEqual(['off']);
  });
  it('no statement keyword is used in two contexts', () => {
    const all = Object.values(STATEMENTS).flatMap((c) => Object.keys(c));
    expect(new Set(all).size).toBe(all.length);
  });
});
