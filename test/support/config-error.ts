/** For configuration tests: the ConfigError a load must throw. */
import { expect } from 'chai';
import { ConfigError } from '../../src/config/load-config';

/** Runs `load` and returns the ConfigError it must throw. */
export function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  expect.fail('expected a ConfigError');
}
