@echo off
rem Shell completion for `kubectl swoll` (kubectl 1.26+): kubectl runs kubectl_complete-swoll from PATH.
kubectl swoll __complete %*
