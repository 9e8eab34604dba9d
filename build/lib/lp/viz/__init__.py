"""Drawing keypoints on frames (TensorBoard images; labeled videos come with render.py)."""
