/**
 * What differs between the systemd-sysupdate versions Flatcar ships (LTS 255,
 * stable 257, beta and alpha 260) and those the tier runs (254, 257 and the
 * newest Debian has, 262 in December 2026), as far as this service's clients
 * see it. From systemd's release notes and source, and from runs of each
 * version against the service (docs/clients.md says the same for people).
 * Every scenario of the tier asks these, so a scenario a version cannot run
 * is tied to the version here, never skipped by hand.
 */
export interface Features {
  readonly version: number
  /** `.transfer` definitions are read (257); before, only `.conf`. */
  readonly readsTransfer: boolean
  /** The target folder is created on first use (257); 254 fails every verb until it exists. */
  readonly createsTargetFolder: boolean
  /** `--json` for `list` and `check-new` prints objects (257); 254 prints table rows and a bare version. */
  readonly jsonObjects: boolean
  /** `check-new` exits 1 when nothing is new: 254, and again from 262. */
  readonly checkNewFailsWhenNone: boolean
  /** The import keyring may also be `import-pubring.pgp` (258). */
  readonly pgpKeyring: boolean
  /** The signature names tried with Verify=yes, in order, up to the first that exists. */
  readonly signatureNames: readonly string[]
  /** A `BEST-BEFORE-YYYY-MM-DD` entry in SHA256SUMS refuses a stale list (260). */
  readonly bestBefore: boolean
  /** The `acquire` verb: download now, install with a later `update` (260). */
  readonly acquire: boolean
}

export function featuresOf(version: number): Features {
  return {
    version,
    readsTransfer: version >= 257,
    createsTargetFolder: version >= 257,
    jsonObjects: version >= 257,
    checkNewFailsWhenNone: version < 257 || version >= 262,
    pgpKeyring: version >= 258,
    // 258 added armored signatures and the SHA256SUMS.sha256 forms, tried in this order.
    signatureNames:
      version >= 258
        ? ['SHA256SUMS.sha256.asc', 'SHA256SUMS.sha256.gpg', 'SHA256SUMS.gpg', 'SHA256SUMS.asc']
        : ['SHA256SUMS.gpg'],
    bestBefore: version >= 260,
    acquire: version >= 260,
  }
}

/** The definition file name a version reads for an extension: `.transfer` where it can. */
export function definitionName(features: Features, ext: string): string {
  return `${ext}${features.readsTransfer ? '.transfer' : '.conf'}`
}
