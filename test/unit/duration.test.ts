import { expect } from 'chai';
import convict from 'convict';
import fc from 'fast-check';
import { describeDuration, formatDuration, parseDuration, registerDurationFormat } from '../../src/config/duration';

describe('durations', () => {
  describe('parseDuration', () => {
    const valid: [string | number, number][] = [
      ['200ms', 200],
      ['1s', 1000],
      ['1.5s', 1500],
      ['1.1s', 1100],
      ['.5s', 500],
      ['2m', 120_000],
      ['0.5m', 30_000],
      ['250', 250],
      ['0', 0],
      ['0ms', 0],
      [' 1s ', 1000],
      [250, 250],
      [0, 0],
    ];
    for (const [input, ms] of valid) {
      it(`reads ${JSON.stringify(input)} as ${ms} ms`, () => {
        expect(parseDuration(input)).to.equal(ms);
      });
    }

    const invalid: (string | number)[] = [
      '',
      '   ',
      '-1s',
      '-5',
      -1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      '1h30',
      '1d',
      '1m30s',
      '1.5',
      '1.5ms',
      0.5,
      '1e3',
      'abc',
      '1 s',
      '1S',
      's',
      '1.s',
      '+1s',
    ];
    for (const input of invalid) {
      it(`refuses ${JSON.stringify(input)}, saying what is accepted`, () => {
        expect(() => parseDuration(input))
          .to.throw(Error)
          .with.property('message')
          .that.matches(/200ms, 1s, 1\.5s, 2m/)
          .and.matches(/plain milliseconds/);
      });
    }
  });

  describe('formatDuration', () => {
    const cases: [number, string][] = [
      [0, '0ms'],
      [200, '200ms'],
      [999, '999ms'],
      [1000, '1s'],
      [1500, '1.5s'],
      [1234, '1.234s'],
      [90_000, '90s'],
      [120_000, '2m'],
      [600_000, '10m'],
    ];
    for (const [ms, text] of cases) {
      it(`writes ${ms} ms as ${text}`, () => {
        expect(formatDuration(ms)).to.equal(text);
      });
    }

    it('refuses negative and non-finite values', () => {
      expect(() => formatDuration(-1)).to.throw(RangeError);
      expect(() => formatDuration(Number.NaN)).to.throw(RangeError);
    });

    it('parses back to the same number of milliseconds', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 10_000_000_000 }), (ms) => parseDuration(formatDuration(ms)) === ms),
      );
    });
  });

  describe('the convict "duration" format', () => {
    before(registerDurationFormat);

    const make = () =>
      convict(
        { timeout: { doc: 't', format: 'duration', default: '1s', min: '50ms', max: '10m' } },
        { args: [], env: {} },
      );

    it('stores the default and loaded strings as milliseconds', () => {
      const config = make();
      expect(config.get('timeout')).to.equal(1000);
      config.load({ timeout: '1.5s' });
      expect(() => config.validate({ allowed: 'strict' })).not.to.throw();
      expect(config.get('timeout')).to.equal(1500);
    });

    it('leaves an unparseable value for validate() to refuse with the key and the accepted forms', () => {
      const config = make().load({ timeout: '1h30' });
      expect(() => config.validate()).to.throw(/timeout: must be a duration like 200ms, 1s or plain milliseconds/);
    });

    for (const bad of [-5, Number.NaN, Number.POSITIVE_INFINITY, 1.5]) {
      it(`refuses ${bad}`, () => {
        expect(() => make().load({ timeout: bad }).validate()).to.throw(/timeout: must be a duration/);
      });
    }

    it('applies min and max from the schema entry', () => {
      expect(() => make().load({ timeout: '20ms' }).validate()).to.throw(/between 50ms and 10m/);
      expect(() => make().load({ timeout: '11m' }).validate()).to.throw(/between 50ms and 10m/);
      expect(() => make().load({ timeout: '50ms' }).validate()).not.to.throw();
      expect(() => make().load({ timeout: '10m' }).validate()).not.to.throw();
    });

    it('describes its bounds', () => {
      expect(describeDuration()).to.equal('must be a duration like 200ms, 1s or plain milliseconds');
      expect(describeDuration({ min: 0, max: '10s' })).to.match(/between 0ms and 10s$/);
      expect(describeDuration({ min: '1s' })).to.match(/at least 1s$/);
    });
  });
});
