/** Every YAML file under deploy/ parses, without errors or warnings, into at least one document. */
import { expect } from 'chai';
import { DEPLOY_DIR, filesBelow, isYaml, relative, yamlDocuments } from '../support/deploy-files';

describe('deploy/: YAML files', () => {
  const files = filesBelow(DEPLOY_DIR, isYaml);

  it('finds the Kubernetes, compose and config files', () => {
    const dirs = new Set(files.map((file) => relative(file).split('/')[1]));
    expect([...dirs]).to.include.members(['kubernetes', 'docker', 'systemd']);
  });

  for (const file of files) {
    it(`${relative(file)} parses`, () => {
      const docs = yamlDocuments(file);
      expect(docs, 'documents').to.have.length.greaterThan(0);
      for (const doc of docs) {
        expect(doc.errors.map(String), 'errors').to.deep.equal([]);
        expect(doc.warnings.map(String), 'warnings').to.deep.equal([]);
        expect(doc.toJS(), 'content').to.be.an('object');
      }
    });
  }
});
