import { describe, expect, it } from 'vitest';
import { isIntOrPercent, isQuantity, quantityMilliValue, quantityValue, scaledValueFromIntOrPercent } from './quantity.js';

describe('quantities', () => {
  it('reads millicores exactly', () => {
    expect(quantityMilliValue('100m')).toBe(100);
    expect(quantityMilliValue('0.1')).toBe(100);
    expect(quantityMilliValue('2')).toBe(2000);
    expect(quantityMilliValue(2)).toBe(2000);
    expect(quantityMilliValue(0.5)).toBe(500);
    expect(quantityMilliValue('1.5')).toBe(1500);
    expect(quantityMilliValue('250m')).toBe(250);
  });

  it('reads binary and decimal suffixes and exponents', () => {
    expect(quantityValue('500Mi')).toBe(500 * 1024 * 1024);
    expect(quantityValue('32Gi')).toBe(32 * 1024 ** 3);
    expect(quantityValue('1k')).toBe(1000);
    expect(quantityValue('1M')).toBe(1e6);
    expect(quantityValue('128974848')).toBe(128974848);
    expect(quantityValue('129e6')).toBe(129e6);
    expect(quantityValue('123E-1')).toBe(13); // 12.3 rounded up, as Value() does
    expect(quantityValue('1.5Gi')).toBe(1.5 * 1024 ** 3);
  });

  it('rounds up as Kubernetes does', () => {
    expect(quantityValue('100m')).toBe(1);
    expect(quantityMilliValue('1u')).toBe(1);
    expect(quantityMilliValue('0.0001')).toBe(1);
    expect(quantityValue('-1.5')).toBe(-2);
  });

  it('rejects what is not a quantity', () => {
    for (const bad of ['lots', '1.2.3', '10 Mi', '1mi', 'Mi', '', '--1', '1e']) {
      expect(isQuantity(bad), bad).toBe(false);
      expect(quantityValue(bad)).toBeUndefined();
    }
    expect(isQuantity('+1.5e3')).toBe(true);
    expect(isQuantity(Number.NaN)).toBe(false);
  });

  it('scales int-or-percent values as intstr does', () => {
    expect(scaledValueFromIntOrPercent('25%', 10, true)).toBe(3);
    expect(scaledValueFromIntOrPercent('25%', 10, false)).toBe(2);
    expect(scaledValueFromIntOrPercent(4, 10, false)).toBe(4);
    expect(scaledValueFromIntOrPercent('x', 10, false)).toBeUndefined();
    expect(isIntOrPercent('25')).toBe(false);
    expect(isIntOrPercent('25%')).toBe(true);
    expect(isIntOrPercent(1.5)).toBe(false);
  });
});
