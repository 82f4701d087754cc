"""From evaluations to results: Tables 1-6 and Figures 2/4/6 beside the paper's numbers
(``report``) and the paper's claims checked with intervals (``claims``)."""
