"""The guide-shaped Q&A data set (content / content_embedding with JSON-object embeddings), driven
through bench/datasets/qa.py (owned by the embeddings work). Until that generator lands, every
measurement of this data set is reported "not available" with the reason."""


class QAData:
    name = "qa"
    has_embeddings = True

    def __init__(self, lab, work, module, why, *, rows, dims, quick=False):
        self.lab = lab
        self.work = work
        self.module = module
        self.why = why
        self.rows_wanted = rows
        self.dims = dims
        self.mysql_db = "pgshift_bench%s_qa" % ("q" if quick else "")
        self.schema = self.mysql_db
        self.rows = None
        self.prepare_seconds = None

    def prepare(self):
        if self.module is None:
            raise RuntimeError(self.why)
        raise RuntimeError("bench/datasets/qa.py is present but not wired into the harness yet")
