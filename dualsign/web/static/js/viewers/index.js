// One viewer module per modality. CT and fundus viewers arrive with their analyzers: each is a new module
// exporting mount(container, exam) -> optional teardown, registered here. Nothing is drawn for a modality
// without a real viewer.
const VIEWERS = {
  ecg: () => import("./ecg.js"),
};

export async function viewerFor(modality) {
  const load = VIEWERS[modality];
  return load ? load() : null;
}
