// One viewer module per modality, each exporting mount(container, exam) -> optional teardown. Nothing is
// drawn for a modality without a real viewer.
const VIEWERS = {
  ecg: () => import("./ecg.js"),
  chest_ct: () => import("./ct.js"),
  fundus: () => import("./fundus.js"),
};

export async function viewerFor(modality) {
  const load = VIEWERS[modality];
  return load ? load() : null;
}
