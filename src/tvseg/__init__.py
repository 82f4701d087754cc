"""tvseg: TV-regularized softmax for semantic segmentation (Jia, Liu & Tai), and its replication."""

__version__ = "0.1.0"
