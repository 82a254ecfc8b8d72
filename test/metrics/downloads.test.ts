import t from 'tap'
import { imageOf } from '../../src/metrics/downloads.js'

const REL = 'https://github.com/flatcar/sysext-bakery/releases/download'

t.test('an image Location gives extension, version and arch', async (t) => {
  const cases: [string, string, string, string][] = [
    ['kubernetes-v1.32.2/kubernetes-v1.32.2-x86-64.raw', 'kubernetes', 'v1.32.2', 'x86-64'],
    ['docker-compose-2.34.0/docker-compose-2.34.0-arm64.raw', 'docker-compose', '2.34.0', 'arm64'],
    ['crio-v1.30.0-rc1/crio-v1.30.0-rc1-x86-64.raw', 'crio', 'v1.30.0-rc1', 'x86-64'],
    ['k3s-v1.32.2+k3s1/k3s-v1.32.2+k3s1-x86-64.raw', 'k3s', 'v1.32.2+k3s1', 'x86-64'],
    [
      'kata-containers-3.2.0/kata-containers-3.2.0-x86-64.raw',
      'kata-containers',
      '3.2.0',
      'x86-64',
    ],
  ]
  for (const [path, extension, version, arch] of cases) {
    t.same(imageOf(REL, `${REL}/${path}`), { extension, version, arch }, path)
  }
})

t.test('anything else names no image', async (t) => {
  for (const location of [
    `${REL}/kubernetes/SHA256SUMS`,
    `${REL}/kubernetes/kubernetes.conf`,
    `${REL}/SHA256SUMS/SHA256SUMS`,
    `${REL}/kubernetes-v1.32.2/kubernetes-v1.32.3-x86-64.raw`,
    `${REL}/kubernetes-v1.32.2/kubernetes-v1.32.2-.raw`,
    `${REL}/kubernetes-v1.32.2/kubernetes-v1.32.2-x86-64.raw/x`,
    `${REL}/kubernetes/kubernetes-x86-64.raw`,
    `${REL}/v1.0/v1.0-x86-64.raw`,
    `${REL}/`,
    'https://flatcar.github.io/sysext-bakery/extensions/kubernetes-v1.32.2-x86-64.raw',
    'https://github.com/flatcar/sysext-bakery/releases/downloadX/a-1/a-1-x86-64.raw',
  ]) {
    t.equal(imageOf(REL, location), null, location)
  }
})
