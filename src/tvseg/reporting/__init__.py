"""From evaluations to results: our results and the paper's read back as frames (``results``),
Tables 1-6 and the per-class table (``tables``), Figures 2/4/6 and the validation curves
(``figures``), the qualitative panels (``panels``), HTML pages (``pages``), caption prose
(``captions``), the paper's claims checked with intervals (``claims``, on ``statistics``) and their
spread (``claims_figure``), the README's verdict (``verdict``) and where the runs ran
(``provenance``)."""
