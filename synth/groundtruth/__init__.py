"""Ground truth from the posed scene, the camera and the render passes: keypoints, visibility, boxes, contact."""
