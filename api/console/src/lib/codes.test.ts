/* codes.test.ts — what a scanned QR code names. */
import { describe, expect, it } from 'vitest';
import { parseScan } from './codes';

const ID = '0190f3a2-7b1c-7cde-8f00-123456789abc';

describe('parseScan', () => {
  it('reads the label QR codes the server prints, in both forms', () => {
    expect(parseScan(`FOFAL:L:demo:${ID}`)).toEqual({ kind: 'label', id: ID, tenant: 'demo' });
    expect(parseScan(`https://mill.example/l/demo/${ID}`)).toEqual({ kind: 'label', id: ID, tenant: 'demo' });
  });
  it('reads orders and loom plates', () => {
    expect(parseScan(`FOFAL:O:demo:${ID}`)).toEqual({ kind: 'order', id: ID, tenant: 'demo' });
    expect(parseScan(ID)).toEqual({ kind: 'order', id: ID });
    expect(parseScan('FOFAL:M:demo:L03')).toEqual({ kind: 'loom', code: 'L03', tenant: 'demo' });
    expect(parseScan(' l13 ')).toEqual({ kind: 'loom', code: 'L13' });
  });
  it('says what it does not know', () => {
    expect(parseScan('FOFAL:L:demo:not-a-uuid').kind).toBe('unknown');
    expect(parseScan('hello world').kind).toBe('unknown');
    expect(parseScan('javascript:alert(1)').kind).toBe('unknown');
  });
});
